package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks/stdout"
)

// progressMinBytes is the input size from which replay reports progress on a terminal.
const progressMinBytes = 64 << 20

func runReplay(ctx context.Context, args []string, stdin io.Reader, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var rules rulesFlag
	fs.Var(&rules, "rules", "rules `file` (repeatable; default ./rules.toml if present, else the built-in rules)")
	output := fs.String("output", "text", "alert format: text or json; matches prints every line a rule matched, before thresholds, instead of alerts")
	node := fs.String("node", "", "node `name` put on the alerts")
	maxLine := fs.Int("max-line-bytes", scanner.DefaultMaxLineBytes, "cap on one log line, in `bytes`; longer lines are cut")
	quiet := fs.Bool("quiet", false, "print no summary on standard error")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "Usage: klaxon replay [OPTIONS] PATH...\n\n"+
			"Runs the rules over saved logs on their own timestamps. PATH is a file, a folder\n"+
			"(walked; the kubelet's /var/log/pods layout is recognised), a .gz file, or - for\n"+
			"standard input. Exit status: 0 after a run, 1 if an input could not be read,\n"+
			"2 for a usage or rules error.\n\nOptions:")
		fs.PrintDefaults()
	}
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(paths) == 0 {
		fmt.Fprintln(errOut, "klaxon replay: no PATH given (use - for standard input)")
		fs.Usage()
		return exitUsage
	}
	if *output != stdout.FormatText && *output != stdout.FormatJSON && *output != outputMatches {
		fmt.Fprintf(errOut, "klaxon replay: invalid --output %q (allowed: text, json, matches)\n", *output)
		return exitUsage
	}
	rs, rulesName, err := loadRules(rules)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon replay: %v\n", err)
		return exitUsage
	}
	for _, p := range paths {
		if _, err := os.Stat(p); p != "-" && err != nil {
			fmt.Fprintf(errOut, "klaxon replay: %v\n", err)
			return exitUsage
		}
	}

	sink := stdout.New(out, *output)
	var writeErr error
	opts := scanner.ReplayOptions{
		Node:         *node,
		Stdin:        stdin,
		MaxLineBytes: *maxLine,
		Emit: func(a *scanner.Alert) {
			if err := sink.Send(ctx, a); err != nil && writeErr == nil {
				writeErr = err
			}
		},
	}
	flush := func() error { return nil }
	if *output == outputMatches {
		opts.Emit = nil
		opts.Matched, flush = matchPrinter(out, &writeErr)
	}
	if isTerminal(errOut) && !*quiet {
		opts.Progress = progressPrinter(errOut)
	}
	stats, err := scanner.Replay(ctx, rs, paths, opts)
	if ferr := flush(); ferr != nil && writeErr == nil {
		writeErr = ferr
	}
	if !*quiet {
		mb := float64(stats.Bytes) / 1e6
		secs := max(stats.Elapsed.Seconds(), 1e-9)
		fmt.Fprintf(errOut, "klaxon replay: %d alerts from %d lines (%.1f MB, %d files) with %s (%d rules) in %s: %.0f lines/s, %.1f MB/s\n",
			stats.Alerts, stats.Lines, mb, stats.Files, rulesName, len(rs.Rules()), stats.Elapsed.Round(time.Millisecond),
			float64(stats.Lines)/secs, mb/secs)
		if stats.Truncated > 0 || stats.Malformed > 0 {
			fmt.Fprintf(errOut, "klaxon replay: %d lines cut to --max-line-bytes, %d malformed CRI or Docker lines read as plain text\n",
				stats.Truncated, stats.Malformed)
		}
	}
	if writeErr != nil {
		fmt.Fprintf(errOut, "klaxon replay: %v\n", writeErr)
		return exitError
	}
	if err != nil {
		fmt.Fprintf(errOut, "klaxon replay: %v\n", err)
		return exitError
	}
	return exitOK
}

// outputMatches is the --output value that prints matching lines.
const outputMatches = "matches"

// matchPrinter returns a Matched callback that writes the text of each
// matching line, for comparing with grep tools, and the function that
// flushes what it buffered.
func matchPrinter(w io.Writer, writeErr *error) (func(*scanner.Line), func() error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	matched := func(l *scanner.Line) {
		bw.Write(l.Text)
		if err := bw.WriteByte('\n'); err != nil && *writeErr == nil {
			*writeErr = err
		}
	}
	return matched, bw.Flush
}

// progressPrinter returns a Progress callback that rewrites one status line
// on a terminal, for inputs large enough to need it.
func progressPrinter(w io.Writer) func(read, total int64) {
	start := time.Now()
	return func(read, total int64) {
		if total < progressMinBytes {
			return
		}
		mb := float64(read) / 1e6
		fmt.Fprintf(w, "\r%5.1f%%  %.0f MB  %.1f MB/s ", 100*float64(read)/float64(total), mb,
			mb/max(time.Since(start).Seconds(), 1e-9))
		if read >= total {
			fmt.Fprintln(w)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// flagExit maps a flag parsing error to an exit status: --help is not an error.
func flagExit(err error) int {
	if err == flag.ErrHelp {
		return exitOK
	}
	return exitUsage
}
