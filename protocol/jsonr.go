package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// The JSON we read (KUBERNETES_EXEC_INFO, docker's `store` input) is decoded
// by encoding/json into typed structs. What this file adds is care with what
// an error shows: the input may hold a secret (docker's holds the Secret),
// and encoding/json's own messages quote the character at a syntax error and
// the digits of a number out of range. Errors here give an offset or the
// JSON path of a member instead, never the input.
//
// As encoding/json decodes: a member name matches its field case-insensitively
// (as docker's own helpers read `store`'s input), the last of repeated members
// wins (a repeated object is merged member by member), a null member leaves
// its field as it was, which reads as absent, and unknown members are ignored.
//
// Bounds: input is refused beyond maxJSONSize bytes, and encoding/json checks
// the whole input, without recursion, before it decodes anything, refusing
// nesting deeper than its limit of 10000 levels; that bounds the decoder's
// recursion (64 KiB alone would not: it holds 65536 '['). The worst input
// that passes, a kubeconfig extension nested 9995 deep, decodes in a few
// tens of milliseconds and a few MiB of heap and stack.

// maxJSONSize bounds the JSON we read.
const maxJSONSize = 64 << 10

// maxJSONDepth is encoding/json's nesting limit (maxNestingDepth in its
// scanner); a test holds it to encoding/json's behaviour.
const maxJSONDepth = 10000

// Plain errors.New: a fmt.Errorf here would run the printf machinery in the
// package's init, on every start of every command.
var (
	errJSONTooLarge = errors.New("json larger than 65536 bytes") // maxJSONSize
	errNotObject    = errors.New("not a JSON object")
)

// memberTypeError reports a member of the wrong type by its JSON path, such
// as "spec.interactive".
type memberTypeError struct {
	path string
	kind reflect.Kind // of the field the member could not be decoded into
}

func (e *memberTypeError) Error() string {
	if e.kind == reflect.Bool {
		return e.path + " is not a boolean"
	}
	return e.path + " has the wrong type"
}

// decodeObject decodes b, one JSON object, into a new T. A member of the
// wrong type does not stop it: it returns what it decoded of the rest
// together with a *memberTypeError, so that a caller can first check the
// members that matter more. On any other error it returns nil.
func decodeObject[T any](b []byte) (*T, error) {
	if len(b) > maxJSONSize {
		return nil, errJSONTooLarge
	}
	var v *T // stays nil for a top-level null
	err := json.Unmarshal(b, &v)
	var syntax *json.SyntaxError
	var wrongType *json.UnmarshalTypeError
	switch {
	case err == nil && v == nil:
		return nil, errNotObject
	case err == nil:
		return v, nil
	case errors.As(err, &syntax):
		return nil, syntaxError(syntax)
	case !errors.As(err, &wrongType):
		// T has no UnmarshalJSON method, so nothing else can fail; do not
		// show err all the same.
		return nil, errors.New("invalid json")
	case wrongType.Type.Kind() == reflect.Float64:
		// No field here is a float64: this is a number beyond float64's
		// range in a member decoded as any. (Its offset would be the end of
		// the value around the number, so none is given.)
		return nil, errors.New("invalid json: number out of range")
	case wrongType.Field == "":
		return nil, errNotObject // the top-level value is something else
	}
	return v, &memberTypeError{path: wrongType.Field, kind: wrongType.Type.Kind()}
}

// syntaxError rewrites encoding/json's syntax error, which quotes the
// offending character, with the 0-based offset of that character instead.
func syntaxError(e *json.SyntaxError) error {
	msg := e.Error()
	switch {
	case strings.HasPrefix(msg, "unexpected end of JSON input"):
		return fmt.Errorf("invalid json at offset %d: unexpected end of input", e.Offset)
	case strings.HasSuffix(msg, "exceeded max depth"):
		return fmt.Errorf("invalid json at offset %d: nested deeper than %d levels", e.Offset-1, maxJSONDepth)
	case strings.HasPrefix(msg, "invalid character "):
		// e.Offset counts the bytes read, the offending one included.
		return fmt.Errorf("invalid json at offset %d: unexpected character", e.Offset-1)
	}
	return fmt.Errorf("invalid json at offset %d", e.Offset)
}
