//go:build unix

package cache

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash loops of issue #5 item 3 at the store level: children of this test binary, each
// killed with SIGKILL at a random point after telling the test it is ready to work.

// killRounds is how many children each loop must see die of SIGKILL.
const killRounds = 200

// crashLoop starts children and kills them after random delays, counting what happened.
type crashLoop struct {
	t                  *testing.T
	rng                *rand.Rand
	want               int // kills
	kills, completions int
	start              time.Time
}

// newCrashLoop prepares a loop that ends after want kills. It logs the seed of the kill
// delays, so a failure can be replayed.
func newCrashLoop(t *testing.T, want int) *crashLoop {
	seed := rand.Uint64()
	t.Logf("kill delays drawn with seed %d", seed)
	return &crashLoop{t: t, rng: rand.New(rand.NewPCG(seed, 0)), want: want, start: time.Now()}
}

// more reports whether the loop needs another round, failing the test when 3 × want rounds
// did not bring want kills.
func (c *crashLoop) more() bool {
	c.t.Helper()
	if n := c.kills + c.completions; n >= 3*c.want {
		c.t.Fatalf("only %d of %d children died of SIGKILL, want %d", c.kills, n, c.want)
	}
	return c.kills < c.want
}

// kill starts cmd, waits until it is ready, then kills it after a delay drawn uniformly from
// [from, to]. It reports whether the child died of SIGKILL; false means that it had finished
// its work first and exited 0. Any other end fails the test.
func (c *crashLoop) kill(cmd *exec.Cmd, from, to time.Duration) bool {
	c.t.Helper()
	startReady(c.t, cmd)
	time.Sleep(from + time.Duration(c.rng.Int64N(int64(to-from)+1)))
	_ = cmd.Process.Kill() // fails when the child has already been reaped; Wait tells
	_ = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
		c.kills++
		return true
	case cmd.ProcessState.Success():
		c.completions++
		return false
	}
	c.t.Fatalf("child ended with %v, want it killed or finished", cmd.ProcessState)
	return false
}

// elapsed is the loop's wall time so far, for the report.
func (c *crashLoop) elapsed() time.Duration { return time.Since(c.start).Round(time.Millisecond) }

// noExitSleep is the environment entry that spares a child built with the race detector the
// second it otherwise sleeps before exiting, which would be most of a short child's life.
func noExitSleep() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

// tempFiles counts the temporary files in dir: each one is a write that a kill interrupted
// between creating it and renaming it into place.
func tempFiles(t *testing.T, dir string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// TestFileStoreSurvivesKilledWriters guards the reference's storage "a crash never leaves a half file", issue
// #5 item 3: writers killed in the middle of Put, which alternates a large and a small value so
// that a torn write could not pass for either, leave the old or the new value, nothing else.
func TestFileStoreSurvivesKilledWriters(t *testing.T) {
	t.Parallel()
	// putSpan covers several Puts of the large value, fsync included.
	const putSpan = 20 * time.Millisecond
	ts := newTestStore(t)
	valid := [][]byte{killLoopValue(0), killLoopValue(1)}
	c := newCrashLoop(t, killRounds)
	found := 0
	for c.more() {
		if !c.kill(child(t, "putloop", ts.childEnv()...), 0, putSpan) {
			t.Fatal("a putloop child exited on its own")
		}
		got, err := ts.Get("k")
		switch {
		case errors.Is(err, ErrNotFound) && found == 0:
			// Killed before its first write finished.
		case err != nil:
			t.Fatalf("kill %d: Get after SIGKILL: %v", c.kills, err)
		case !slices.ContainsFunc(valid, func(v []byte) bool { return bytes.Equal(v, got) }):
			t.Fatalf("kill %d: Get after SIGKILL returned a torn value of %d bytes", c.kills, len(got))
		default:
			found++
		}
	}
	t.Logf("Put: %d kills, %d completions; %d kills found a whole value, %d writes were interrupted; %v",
		c.kills, c.completions, found, tempFiles(t, ts.opts.Dir), c.elapsed())
}

// TestFileStoreSurvivesKilledDeletes guards the reference's storage (the store survives any crash) and commands
// logout, issue #5 item 3: processes killed in the middle of Delete leave the entry whole or
// gone, and every other entry untouched.
func TestFileStoreSurvivesKilledDeletes(t *testing.T) {
	t.Parallel()
	const deleteSpan = 10 * time.Millisecond
	ts := newTestStore(t)
	value, kept := []byte("value of k"), []byte("value of keep")
	for k, v := range map[string][]byte{"k": value, "keep": kept} {
		if err := ts.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	// The deleteloop child brings k back by linking this copy of its entry file.
	template := filepath.Join(t.TempDir(), "k.entry")
	if err := os.Link(ts.entryPath("k"), template); err != nil {
		t.Fatal(err)
	}
	c := newCrashLoop(t, killRounds)
	present, entries := 0, 0
	for c.more() {
		if !c.kill(child(t, "deleteloop", append(ts.childEnv(), "TEMPLATE="+template)...), 0, deleteSpan) {
			t.Fatal("a deleteloop child exited on its own")
		}
		entries = 1 // keep
		got, err := ts.Get("k")
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			t.Fatalf("kill %d: Get after SIGKILL: %v", c.kills, err)
		case !bytes.Equal(got, value):
			t.Fatalf("kill %d: Get after SIGKILL = %q, want %q or nothing", c.kills, got, value)
		default:
			present++
			entries++
		}
		if got, err := ts.Get("keep"); err != nil || !bytes.Equal(got, kept) {
			t.Fatalf("kill %d: Get of an entry no one deleted = %q, %v; want %q", c.kills, got, err, kept)
		}
	}
	t.Logf("Delete: %d kills, %d completions; the entry was gone after %d kills and whole after %d; %v",
		c.kills, c.completions, c.kills-present, present, c.elapsed())
	assertStoreFiles(t, ts.opts.Dir, entries)
}

// TestFileStoreSurvivesKilledCreation guards the reference's storage ("a crash never leaves a half file"; "a
// wrong passphrase is reported as such, not as a parse error"), issue #5 item 3: a process
// killed while creating a store in an empty directory leaves either no store or a whole one.
// Once a store is there, OpenFile with the right passphrase opens it: never a *CorruptError,
// never ErrWrongPassphrase from a half-written verifier, never a stuck unlock lock. Until one
// is there, the next child creates it on top of whatever the killed ones left behind.
func TestFileStoreSurvivesKilledCreation(t *testing.T) {
	t.Parallel()
	// Most of a creator's life is the KDF, a CPU-bound wait: two loops side by side, each in
	// directories of its own, halve the wall time.
	const lanes = 2
	counts := make([]creationCounts, lanes)
	start := time.Now()
	t.Run("lanes", func(t *testing.T) {
		for i := range counts {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				counts[i] = killCreators(t, killRounds/lanes)
			})
		}
	})
	var sum creationCounts
	for _, c := range counts {
		sum.kills += c.kills
		sum.completions += c.completions
		sum.uninterrupted += c.uninterrupted
		sum.writing += c.writing
		sum.published += c.published
		sum.onDebris += c.onDebris
	}
	t.Logf("create: %d kills, %d completions, %d uninterrupted runs; %d kills after the metadata began to be written, "+
		"%d after it was published (each store then opened with the passphrase); %d children started on what killed ones had left; %v",
		sum.kills, sum.completions, sum.uninterrupted, sum.writing, sum.published, sum.onDebris, time.Since(start).Round(time.Millisecond))
}

// creationCounts is what killCreators saw: writing counts kills that landed after the
// metadata file began to be written, published those of them after it was in place, onDebris
// children that started where a killed one had created the directory.
type creationCounts struct {
	kills, completions, uninterrupted, writing, published, onDebris int
}

// killCreators runs createonce children until want of them died of SIGKILL, moving to a new
// directory whenever one holds a store, which it first opens with the passphrase if a killed
// child published it.
func killCreators(t *testing.T, want int) creationCounts {
	// A child's life is measured by letting it create a store uninterrupted: calibrationRuns
	// times first, then once every recalibrateEvery rounds, as the machine's load changes. With
	// life the median of the latest calibrationWindow such runs, half the kills land anywhere,
	// in [0, 1.2 × life], and half in [0.7 × life, 0.95 × life]: around the end of the KDF,
	// which takes most of a life, where the metadata is written.
	const calibrationRuns, recalibrateEvery, calibrationWindow = 3, 20, 5
	newDir := func() (base, dir string) {
		base = t.TempDir()
		return base, filepath.Join(base, "store")
	}
	c := newCrashLoop(t, want)
	var n creationCounts
	var walls []time.Duration
	base, dir := newDir()
	for round := 0; c.more(); round++ {
		cmd := child(t, "createonce", "STORE_DIR="+dir, "KEYCACHE_DIR="+base, noExitSleep())
		if _, err := os.Stat(dir); err == nil {
			n.onDebris++
		}
		temps := tempFiles(t, dir)
		if round < calibrationRuns || round%recalibrateEvery == 0 {
			startReady(t, cmd)
			began := time.Now()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("createonce: %v", err)
			}
			walls = append(walls, time.Since(began))
			n.uninterrupted++
		} else {
			latest := slices.Clone(walls[max(0, len(walls)-calibrationWindow):])
			slices.Sort(latest)
			life := latest[len(latest)/2]
			if round%2 == 0 {
				c.kill(cmd, 0, life*6/5)
			} else {
				c.kill(cmd, life*7/10, life*19/20)
			}
		}
		_, err := os.Stat(filepath.Join(dir, metaName))
		killed := !cmd.ProcessState.Success()
		switch {
		case err != nil && !killed:
			t.Fatalf("round %d: createonce succeeded without publishing %s: %v", round, metaName, err)
		case err != nil:
			// No store yet: the next child creates it on top of what this one left.
			if tempFiles(t, dir) > temps {
				n.writing++
			}
			continue
		case killed:
			n.writing++
			n.published++
			openCreated(t, round, dir)
		}
		// A whole store is here; the next child starts afresh.
		base, dir = newDir()
	}
	openCreated(t, -1, dir)
	n.kills, n.completions = c.kills, c.completions
	return n
}

// openCreated opens the store in dir as a later process would, deriving the key from the
// passphrase, which checks the verifier its creator wrote, and uses it.
func openCreated(t *testing.T, round int, dir string) {
	t.Helper()
	s, err := OpenFile(FileOptions{Dir: dir, Passphrase: passphrase(testPass), KDF: testKDF, UnlockWait: 10 * time.Second})
	if ce := (*CorruptError)(nil); errors.As(err, &ce) || errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("round %d: a killed creator left a half-written store: %v", round, err)
	}
	if err != nil {
		t.Fatalf("round %d: OpenFile after a killed creator: %v", round, err)
	}
	if err := s.Put("k", []byte("v")); err != nil {
		t.Fatalf("round %d: Put: %v", round, err)
	}
	if got, err := s.Get("k"); err != nil || string(got) != "v" {
		t.Fatalf("round %d: Get = %q, %v; want v", round, got, err)
	}
}
