package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/klaxon-agent/klaxon/scanner"
)

func runTest(ctx context.Context, args []string, _ io.Reader, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var rules rulesFlag
	fs.Var(&rules, "rules", "rules `file` to test (repeatable; default: the test file's rules key, else ./rules.toml, else the built-in rules)")
	verbose := fs.Bool("v", false, "print the alerts of passing tests too")
	requireCoverage := fs.Bool("require-coverage", false, "fail when a rule has no test that expects its alert")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "Usage: klaxon test [OPTIONS] FILE...\n\n"+
			"Runs rule tests: each [[test]] replays its input lines through the rules and compares\n"+
			"the alerts with its [[test.expect]] entries, in order. Exit status: 0 when all pass,\n"+
			"1 when a test fails, 2 for a file error.\n\nOptions:")
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(files) == 0 {
		fmt.Fprintln(errOut, "klaxon test: no test FILE given")
		return exitUsage
	}
	failed, total := 0, 0
	covered := map[string]bool{}
	var all []*scanner.Rule
	var rulesNames []string
	for _, path := range files {
		tf, err := scanner.LoadTestFile(path)
		if err != nil {
			fmt.Fprintf(errOut, "klaxon test: %v\n", err)
			return exitUsage
		}
		rs, name, err := rulesForTestFile(tf, rules)
		if err != nil {
			fmt.Fprintf(errOut, "klaxon test: %v\n", err)
			return exitUsage
		}
		// "./rules.toml" and a test file's "rules.toml" beside it are one file.
		if !slices.ContainsFunc(rulesNames, func(n string) bool { return filepath.Clean(n) == filepath.Clean(name) }) {
			rulesNames = append(rulesNames, name)
		}
		all = append(all, rs.Rules()...)
		for _, t := range tf.Tests {
			for _, e := range t.Expect {
				covered[e.Rule] = true
			}
			res, err := t.Run(ctx, rs, filepath.Dir(path))
			if err != nil {
				fmt.Fprintf(errOut, "klaxon test: %s: %v\n", path, err)
				return exitUsage
			}
			total++
			if len(res.Failures) == 0 {
				fmt.Fprintf(out, "ok    %s\n", t.Name)
				if *verbose {
					printAlerts(out, res.Alerts)
				}
				continue
			}
			failed++
			fmt.Fprintf(out, "FAIL  %s (%s)\n", t.Name, path)
			for _, f := range res.Failures {
				fmt.Fprintf(out, "      %s\n", f)
			}
			fmt.Fprintln(out, "      actual alerts:")
			printAlerts(out, res.Alerts)
		}
	}
	uncovered := uncoveredRules(all, covered)
	if len(uncovered) > 0 && (*requireCoverage || *verbose) {
		fmt.Fprintf(out, "rules without a test that expects their alert: %s\n", strings.Join(uncovered, ", "))
	}
	fmt.Fprintf(out, "%d passed, %d failed with %s\n", total-failed, failed, strings.Join(rulesNames, ", "))
	if failed > 0 || (*requireCoverage && len(uncovered) > 0) {
		return exitError
	}
	return exitOK
}

// rulesForTestFile loads the rules a test file names, relative to it, unless
// --rules was given. It returns a name for messages too.
func rulesForTestFile(tf *scanner.TestFile, flagRules []string) (*scanner.RuleSet, string, error) {
	if len(flagRules) > 0 || len(tf.Rules) == 0 {
		return loadRules(flagRules)
	}
	var paths []string
	for _, r := range tf.Rules {
		if !filepath.IsAbs(r) {
			r = filepath.Join(filepath.Dir(tf.Path), r)
		}
		paths = append(paths, r)
	}
	rs, err := scanner.LoadRules(paths...)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		if i := slices.Index(paths, pathErr.Path); i >= 0 {
			return nil, "", fmt.Errorf("%s: rules %q (relative to the test file): %w", tf.Path, tf.Rules[i], err)
		}
	}
	return rs, strings.Join(paths, ", "), err
}

func uncoveredRules(rules []*scanner.Rule, covered map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules {
		if !covered[r.Name] && !seen[r.Name] {
			out = append(out, r.Name)
		}
		seen[r.Name] = true
	}
	sort.Strings(out)
	return out
}

func printAlerts(w io.Writer, alerts []*scanner.Alert) {
	if len(alerts) == 0 {
		fmt.Fprintln(w, "        (none)")
	}
	for i, a := range alerts {
		state := ""
		switch {
		case a.Resolved:
			state = " resolved"
		case a.Reminder:
			state = " reminder"
		}
		fmt.Fprintf(w, "        %d. %s %s%s count=%d first=%s last=%s\n           %s\n", i+1, a.Rule, a.Severity, state, a.Count,
			a.FirstSeen.UTC().Format("2006-01-02T15:04:05Z"), a.LastSeen.UTC().Format("2006-01-02T15:04:05Z"), a.Summary)
	}
}
