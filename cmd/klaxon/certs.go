package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/klaxon-agent/klaxon/certwatch"
	"github.com/klaxon-agent/klaxon/scanner"
)

// certsParallel is the maximum number of endpoints that `klaxon certs` probes
// at once.
const certsParallel = 8

// maxStdinBytes limits the certificates read from standard input.
const maxStdinBytes = 4 << 20

const certsHelp = `Usage: klaxon certs [OPTIONS] PATH|HOST:PORT...

Prints the certificates found in files, folders and TLS endpoints, soonest expiry
first. PATH is a PEM or DER certificate file, a kubeconfig with embedded
certificate data, a folder (walked, skipping files without certificates), a
glob, or - for standard input. HOST:PORT, or an https:// URL, is a TLS endpoint.
Its whole chain is read and not verified. A certificate replaced by a newer one
with the same subject in the same folder is shown as superseded.

Exit status: 0 when every input was read and no certificate is expired or not
yet valid, 1 when one is or when a file or endpoint could not be read, 2 for a
usage error.

Options:`

// certsResult is the JSON output of `klaxon certs --output json`.
type certsResult struct {
	Certificates []certsEntry `json:"certificates"`
	Errors       []certsError `json:"errors"`
}

type certsEntry struct {
	*certwatch.Certificate
	Status      certwatch.Status `json:"status"`
	SecondsLeft int64            `json:"seconds_left"` // negative once expired
}

type certsError struct {
	Source string `json:"source"`
	Error  string `json:"error"`
}

// certsInputs are the arguments of `klaxon certs`, sorted by kind.
type certsInputs struct {
	files     []string // named explicitly: no certificate is an error
	patterns  []string // folders and globs: files without certificates are skipped
	endpoints []string
	stdin     bool
}

func runCerts(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "table", "output format: table or json")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit for the connection and TLS handshake of each endpoint")
	serverName := fs.String("server-name", "", "server `name` sent as SNI to every endpoint (default: the endpoint's host, unless it is an IP address)")
	th := certwatch.DefaultThresholds()
	fs.Var((*durationFlag)(&th.Warning), "warning", "status warning when less than this `duration` is left, such as 30d or 12h. 0 turns it off.\n"+
		"Both thresholds apply only to certificates whose lifetime is more than twice the threshold")
	fs.Var((*durationFlag)(&th.Critical), "critical", "status critical when less than this `duration` is left. 0 turns it off")
	fs.Usage = func() {
		fmt.Fprintln(stderr, certsHelp)
		fs.PrintDefaults()
	}

	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(positional) == 0 {
		fmt.Fprintln(stderr, "klaxon certs: no PATH or HOST:PORT given")
		fs.Usage()
		return exitUsage
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "klaxon certs: invalid --output %q (allowed: table, json)\n", *output)
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "klaxon certs: invalid --timeout %s (must be positive)\n", *timeout)
		return exitUsage
	}
	if th.Warning > 0 && th.Critical >= th.Warning {
		fmt.Fprintf(stderr, "klaxon certs: --critical %s must be less than --warning %s\n", certwatch.Duration(th.Critical), certwatch.Duration(th.Warning))
		return exitUsage
	}
	inputs, err := classifyCertsArgs(positional)
	if err != nil {
		fmt.Fprintf(stderr, "klaxon certs: %v\n", err)
		return exitUsage
	}

	certs, errs := collectCerts(ctx, inputs, stdin, *serverName, *timeout)
	assessments := certwatch.Assess(certs, th, time.Now())
	for _, e := range errs {
		fmt.Fprintf(stderr, "klaxon certs: %s\n", e.Error)
	}
	if len(certs) == 0 && len(errs) == 0 {
		fmt.Fprintln(stderr, "klaxon certs: no certificates found")
		return exitError
	}

	if *output == "json" {
		err = writeCertsJSON(stdout, assessments, errs)
	} else {
		err = writeCertsTable(stdout, assessments)
	}
	if err != nil {
		fmt.Fprintf(stderr, "klaxon certs: write output: %v\n", err)
		return exitError
	}
	return certsExitCode(assessments, errs)
}

// classifyCertsArgs sorts the arguments into files, folders or globs,
// endpoints and standard input. An existing path wins over an endpoint of the
// same spelling.
func classifyCertsArgs(args []string) (certsInputs, error) {
	var in certsInputs
	for _, arg := range args {
		if arg == "-" {
			in.stdin = true
			continue
		}
		info, statErr := os.Stat(arg)
		switch {
		case statErr == nil && info.IsDir():
			in.patterns = append(in.patterns, arg)
		case statErr == nil:
			in.files = append(in.files, arg)
		case strings.ContainsAny(arg, "*?["):
			in.patterns = append(in.patterns, arg)
		default:
			address, err := certwatch.ParseEndpoint(arg)
			if err != nil {
				return in, fmt.Errorf("%s: neither a readable path (%v) nor a TLS endpoint (expected HOST:PORT or an https:// URL)", arg, statErr)
			}
			in.endpoints = append(in.endpoints, address)
		}
	}
	return in, nil
}

// collectCerts reads every input. It returns the certificates found and one
// error per input that could not be read.
func collectCerts(ctx context.Context, in certsInputs, stdin io.Reader, serverName string, timeout time.Duration) ([]*certwatch.Certificate, []certsError) {
	var (
		certs []*certwatch.Certificate
		errs  []certsError
	)
	add := func(source string, found []*certwatch.Certificate, err error) {
		certs = append(certs, found...)
		if err != nil {
			errs = append(errs, certsError{Source: source, Error: err.Error()})
		}
	}

	if in.stdin {
		found, err := readStdinCerts(stdin)
		add("stdin", found, err)
	}
	for _, path := range in.files {
		found, err := certwatch.ReadFile(path)
		add(path, found, err)
	}
	paths, err := certwatch.Expand(in.patterns)
	if err != nil {
		add(strings.Join(in.patterns, ", "), nil, err)
	}
	for _, path := range paths {
		found, err := certwatch.ReadFile(path)
		if errors.Is(err, certwatch.ErrNoCertificate) {
			continue
		}
		add(path, found, err)
	}
	for i, r := range probeAll(ctx, in.endpoints, serverName, timeout) {
		add(certwatch.EndpointSource(in.endpoints[i], serverName), r.certs, r.err)
	}
	return certs, errs
}

func readStdinCerts(stdin io.Reader) ([]*certwatch.Certificate, error) {
	data, err := io.ReadAll(io.LimitReader(stdin, maxStdinBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	if len(data) > maxStdinBytes {
		return nil, fmt.Errorf("read standard input: more than %d MiB", maxStdinBytes>>20)
	}
	certs, err := certwatch.ParseCertificates("stdin", data)
	if err != nil {
		return certs, fmt.Errorf("parse standard input: %w", err)
	}
	return certs, nil
}

type probeResult struct {
	certs []*certwatch.Certificate
	err   error
}

// probeAll probes the endpoints, at most certsParallel at once, and returns
// the results in the order of endpoints.
func probeAll(ctx context.Context, endpoints []string, serverName string, timeout time.Duration) []probeResult {
	results := make([]probeResult, len(endpoints))
	slots := make(chan struct{}, certsParallel)
	var wg sync.WaitGroup
	for i, address := range endpoints {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			certs, err := certwatch.Probe(ctx, address, serverName, timeout)
			results[i] = probeResult{certs: certs, err: err}
		})
	}
	wg.Wait()
	return results
}

func writeCertsTable(w io.Writer, assessments []certwatch.Assessment) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSUBJECT\tDNS NAMES\tNOT AFTER\tTIME LEFT\tSTATUS")
	for _, a := range assessments {
		c := a.Certificate
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			c.Source, orDash(c.Subject), orDash(c.ShortNames(3)),
			c.NotAfter.UTC().Format("2006-01-02 15:04 MST"), certwatch.FormatTimeLeft(a.TimeLeft), a.Status)
	}
	return tw.Flush()
}

func writeCertsJSON(w io.Writer, assessments []certwatch.Assessment, errs []certsError) error {
	result := certsResult{Certificates: make([]certsEntry, 0, len(assessments)), Errors: errs}
	if result.Errors == nil {
		result.Errors = []certsError{}
	}
	for _, a := range assessments {
		result.Certificates = append(result.Certificates, certsEntry{
			Certificate: a.Certificate,
			Status:      a.Status,
			SecondsLeft: int64(a.TimeLeft / time.Second),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(result)
}

func certsExitCode(assessments []certwatch.Assessment, errs []certsError) int {
	if len(errs) > 0 {
		return exitError
	}
	for _, a := range assessments {
		if a.Status == certwatch.StatusExpired || a.Status == certwatch.StatusNotYetValid {
			return exitError
		}
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// durationFlag is a flag.Value for durations that also accepts days, such as
// "30d".
type durationFlag time.Duration

func (d *durationFlag) String() string {
	return certwatch.Duration(*d).String()
}

func (d *durationFlag) Set(s string) error {
	v, err := scanner.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = durationFlag(v)
	return nil
}
