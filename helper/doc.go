// Package helper is the token engine: it decides when a cached credential can be
// served, when it must be refreshed, and when a login is needed and allowed.
//
// It owns policy only. Storage (encrypted files, keyrings, lock files) lives in
// package cache and the Gcore IAM wire calls in package iam; the engine talks to
// both through the small interfaces declared here, so tests can run it against
// in-memory fakes and a fake clock.
//
// The two properties everything here is arranged around:
//
//   - A cache hit reads the store without taking any lock, so a valid token is
//     served at full speed even while another process is refreshing.
//   - A refresh or login happens at most once per cache key at a time: inside a
//     process through singleflight, across processes through a per-key lock
//     file, and the store is read again after the lock is taken because another
//     process may already have done the work. Gcore refresh tokens are single-use,
//     so a refresh token is never sent twice.
package helper
