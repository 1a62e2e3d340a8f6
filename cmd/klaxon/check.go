package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp/syntax"
	"strings"

	"github.com/klaxon-agent/klaxon/scanner"
)

func runCheck(_ context.Context, args []string, _ io.Reader, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var rules rulesFlag
	fs.Var(&rules, "rules", "rules `file` (repeatable; default ./rules.toml if present, else the built-in rules)")
	patterns := fs.Bool("patterns", false, "print only the match patterns, one per line, for grep tools such as rg -f")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "Usage: klaxon check [--rules FILE]... [--patterns]\n\n"+
			"Validates rules and prints one line per rule. Exit status 2 on any error.\n\nOptions:")
		fs.PrintDefaults()
	}
	extra, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(extra) > 0 {
		fmt.Fprintf(errOut, "klaxon check: unexpected argument %q (use --rules FILE)\n", extra[0])
		return exitUsage
	}
	rs, name, err := loadRules(rules)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon check: %v\n", err)
		return exitUsage
	}
	if *patterns {
		for _, r := range rs.Rules() {
			if r.Match != nil {
				fmt.Fprintln(out, unnamedGroups(r.Match.String()))
			}
		}
		return exitOK
	}
	for _, r := range rs.Rules() {
		fmt.Fprintln(out, describeRule(r))
	}
	fmt.Fprintf(out, "%s: %d rules OK\n", name, len(rs.Rules()))
	return exitOK
}

// unnamedGroups rewrites a pattern with its named groups unnamed, because
// grep tools join all patterns into one and reject a name used twice.
func unnamedGroups(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return pattern
	}
	var walk func(*syntax.Regexp)
	walk = func(n *syntax.Regexp) {
		n.Name = ""
		for _, sub := range n.Sub {
			walk(sub)
		}
	}
	walk(re)
	return re.String()
}

// describeRule renders a rule on one line: name, severity, when it fires,
// how it groups, and its selectors.
func describeRule(r *scanner.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-40s %-8s", r.Name, r.Severity)
	if r.Threshold > 1 {
		fmt.Fprintf(&b, " %d in %s", r.Threshold, scanner.FormatDuration(r.Window))
	} else {
		b.WriteString(" every match")
	}
	fmt.Fprintf(&b, ", by %s, cooldown %s", strings.Join(r.GroupBy, "+"), scanner.FormatDuration(r.Cooldown))
	if r.Repeat > 0 {
		fmt.Fprintf(&b, ", repeat %s", scanner.FormatDuration(r.Repeat))
	}
	for _, sel := range []struct {
		name string
		list []string
	}{{"namespaces", r.Namespaces}, {"pods", r.Pods}, {"containers", r.Containers}} {
		if len(sel.list) > 0 {
			fmt.Fprintf(&b, ", %s %s", sel.name, strings.Join(sel.list, ","))
		}
	}
	if len(r.Levels) > 0 {
		names := make([]string, len(r.Levels))
		for i, l := range r.Levels {
			names[i] = l.String()
		}
		fmt.Fprintf(&b, ", levels %s", strings.Join(names, ","))
	}
	return b.String()
}
