//go:build race

package main

// raceEnabled is true when the tests run with the race detector, so that
// the binary they start is built with it too.
const raceEnabled = true
