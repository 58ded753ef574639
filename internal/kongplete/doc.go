/*
Package kongplete lets you generate shell completions for your command-line programs using
github.com/alecthomas/kong and github.com/posener/complete.
*/
package kongplete
