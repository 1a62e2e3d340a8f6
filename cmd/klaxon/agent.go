package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/scanner/follow"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/stdout"
)

// Shutdown budget, inside the 30 s a pod gets by default between SIGTERM
// and SIGKILL: an alert being sent may take sendGrace, and the sinks then
// get closeGrace to flush what they queued.
const (
	sendGrace  = 10 * time.Second
	closeGrace = 15 * time.Second
)

// agentFlags are the command-line options of `klaxon agent`.
type agentFlags struct {
	config    string
	rules     rulesFlag
	logRoot   string
	stateDir  string
	logFormat string
	logLevel  string
	check     bool
}

func runAgent(ctx context.Context, args []string, _ io.Reader, out, errOut io.Writer) int {
	fl, code, ok := parseAgentFlags(args, errOut)
	if !ok {
		return code
	}
	cfg, err := agentSetup(fl)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon agent: %v\n", err)
		return exitUsage
	}
	rs, rulesName, err := loadRules(cfg.Rules)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon agent: %v\n", err)
		return exitUsage
	}
	if fl.check {
		fmt.Fprintf(out, "config and %s are valid: %d rules\n", rulesName, len(rs.Rules()))
		return exitOK
	}
	logger, err := newLogger(errOut, fl.logFormat, fl.logLevel)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon agent: %v\n", err)
		return exitUsage
	}
	if err := serveAgent(ctx, cfg, rs, out, logger); err != nil {
		logger.Error("agent failed", "err", err)
		return exitError
	}
	return exitOK
}

func parseAgentFlags(args []string, errOut io.Writer) (*agentFlags, int, bool) {
	fl := &agentFlags{}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&fl.config, "config", "", "configuration `file` (TOML); without it every key takes its default")
	fs.Var(&fl.rules, "rules", "rules `file`, overriding the config's rules (repeatable)")
	fs.StringVar(&fl.logRoot, "log-root", "", "kubelet pod log `folder`, overriding the config (default "+follow.DefaultRoot+")")
	fs.StringVar(&fl.stateDir, "state-dir", "", "`folder` for positions and alert state, overriding the config (default "+defaultStateDir+")")
	fs.StringVar(&fl.logFormat, "log-format", "json", "format of the agent's own logs on standard error: json or text")
	fs.StringVar(&fl.logLevel, "log-level", "info", "least severe level logged: debug, info, warn or error")
	fs.BoolVar(&fl.check, "check-config", false, "validate the configuration and rules, then exit")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "Usage: klaxon agent [OPTIONS]\n\n"+
			"Follows the container logs of a node's system namespaces and raises alerts as\n"+
			"lines arrive. Alerts go to the configured sinks, or to standard output as JSON\n"+
			"lines when none is configured. Stops on SIGINT or SIGTERM after saving its state.\n"+
			"Exit status: 0 after a clean stop, 1 if the agent failed, 2 for a usage, config\n"+
			"or rules error.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, flagExit(err), false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "klaxon agent: unexpected argument %q\n", fs.Arg(0))
		return nil, exitUsage, false
	}
	return fl, 0, true
}

// agentSetup loads the config file, if any, and applies the flags over it.
func agentSetup(fl *agentFlags) (*agentConfig, error) {
	cfg := defaultAgentConfig()
	if fl.config != "" {
		var err error
		if cfg, err = loadAgentConfig(fl.config); err != nil {
			return nil, err
		}
	}
	if len(fl.rules) > 0 {
		cfg.Rules = fl.rules
	}
	if fl.logRoot != "" {
		cfg.LogRoot = fl.logRoot
	}
	if fl.stateDir != "" {
		cfg.StateDir = fl.stateDir
	}
	return cfg, cfg.validate()
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q (allowed: debug, info, warn, error)", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q (allowed: json, text)", format)
}

// serveAgent runs the pipeline until ctx is cancelled, then closes the sinks.
func serveAgent(ctx context.Context, cfg *agentConfig, rs *scanner.RuleSet, out io.Writer, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sink := buildSink(cfg, out)

	// Sends outlive the signal by sendGrace, so an alert already raised is
	// still delivered before its line's position can be saved.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopTimer := context.AfterFunc(ctx, func() { time.AfterFunc(sendGrace, cancelSends) })
	defer stopTimer()

	tail := cfg.tailOptions()
	tail.Logger, tail.Registerer = logger, reg
	p, err := follow.NewPipeline(follow.PipelineOptions{
		Tail:               tail,
		Rules:              rs,
		Node:               cfg.nodeName(),
		StateDir:           cfg.StateDir,
		FromStart:          cfg.StartAt == startAtBeginning,
		CheckpointInterval: time.Duration(cfg.Follow.SaveInterval),
		Deliver:            func(a *scanner.Alert) error { return sink.Send(sendCtx, a) },
	})
	if err != nil {
		return err
	}
	_, stopMetrics, err := serveMetrics(cfg.MetricsAddress, reg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()

	logger.Info("agent started", "node", cfg.nodeName(), "log_root", cfg.LogRoot, "state_dir", cfg.StateDir,
		"rules", len(rs.Rules()))
	runErr := p.Run(ctx)
	// Run saved the positions and the alert state, so the sinks flush now.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
	defer cancel()
	closeErr := sink.Close(closeCtx)
	if closeErr != nil {
		logger.Error("cannot flush sinks", "err", closeErr)
	}
	logger.Info("agent stopped")
	return errors.Join(runErr, closeErr)
}

// buildSink returns where alerts go: standard output as JSON lines, the
// format of `klaxon replay --output json`, when the config names no sink.
func buildSink(_ *agentConfig, out io.Writer) sinks.Sink {
	return stdout.New(out, stdout.FormatJSON)
}

// serveMetrics serves /metrics on addr until the returned function is
// called, and returns the address it listens on. An empty addr serves
// nothing.
func serveMetrics(addr string, reg *prometheus.Registry, logger *slog.Logger) (string, func(), error) {
	if addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server failed", "err", err)
		}
	}()
	logger.Info("serving metrics", "address", ln.Addr().String())
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
