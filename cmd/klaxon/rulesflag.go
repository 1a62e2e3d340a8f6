package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/klaxon-agent/klaxon"
	"github.com/klaxon-agent/klaxon/scanner"
)

// rulesFlag collects --rules values; the flag may be given more than once.
type rulesFlag []string

func (f *rulesFlag) String() string     { return strings.Join(*f, ",") }
func (f *rulesFlag) Set(v string) error { *f = append(*f, v); return nil }

// loadRules reads the rules files given, else ./rules.toml when present, else
// the rules built into the binary. It returns a name for messages too.
func loadRules(files []string) (*scanner.RuleSet, string, error) {
	if len(files) > 0 {
		rs, err := scanner.LoadRules(files...)
		return rs, strings.Join(files, ", "), err
	}
	if _, err := os.Stat("rules.toml"); err == nil {
		rs, err := scanner.LoadRules("rules.toml")
		// "./" shows that the file came from the current folder.
		return rs, "./rules.toml", err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("read rules: %w", err)
	}
	rs, err := scanner.ParseRules("rules.toml (built in)", klaxon.DefaultRules)
	return rs, "built-in rules", err
}
