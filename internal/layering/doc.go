// Package layering has no code, only the test that keeps the packages'
// import arrows pointing one way (see the README's "Code map").
package layering
