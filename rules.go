// Package klaxon holds the rules klaxon ships with. The program itself is in
// cmd/klaxon; the log formats, rules and alert state are in scanner, and the
// alert destinations in sinks.
package klaxon

import _ "embed"

// DefaultRules is the text of rules.toml, the curated rules used when no
// rules file is given.
//
//go:embed rules.toml
var DefaultRules []byte
