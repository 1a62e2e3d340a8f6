package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/scanner/follow"
	"github.com/klaxon-agent/klaxon/sinks"
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
	metrics   string
	logFormat string
	logLevel  string
	check     bool
}

func runAgent(ctx context.Context, args []string, _ io.Reader, out, errOut io.Writer) int {
	fl, code, ok := parseAgentFlags(args, errOut)
	if !ok {
		return code
	}
	cfg, rs, rulesName, err := loadAgent(fl)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon agent: %v\n", err)
		return exitUsage
	}
	if fl.check {
		fmt.Fprintf(out, "config and %s are valid: %d rules\n", rulesName, len(rs.Rules()))
		// The secrets a sink reads may exist only where the agent runs, as
		// with a Kubernetes Secret volume, so failing to open is a warning.
		if err := checkSinks(cfg); err != nil {
			fmt.Fprintf(errOut, "klaxon agent: warning: the agent could not start here: %v\n", err)
		}
		if err := cfg.Heartbeat.checkURL(); err != nil {
			fmt.Fprintf(errOut, "klaxon agent: warning: heartbeats would fail here: %v\n", err)
		}
		if warning := stateDirWarning(cfg); warning != "" {
			fmt.Fprintf(errOut, "klaxon agent: warning: %s\n", warning)
		}
		if note := unroutedNote(cfg); note != "" {
			fmt.Fprintln(out, note)
		}
		return exitOK
	}
	logger, err := newLogger(errOut, fl.logFormat, fl.logLevel)
	if err != nil {
		fmt.Fprintf(errOut, "klaxon agent: %v\n", err)
		return exitUsage
	}
	load := func() (*agentConfig, *scanner.RuleSet, error) {
		cfg, rs, _, err := loadAgent(fl)
		return cfg, rs, err
	}
	if err := serveAgent(ctx, agentInputs{cfg: cfg, rules: rs, configFile: fl.config, load: load}, out, logger); err != nil {
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
	fs.StringVar(&fl.metrics, "metrics-address", "", "`host:port` of /metrics, /healthz, /readyz and /coverage, overriding the config (default "+defaultMetricsAddress+")")
	fs.StringVar(&fl.logFormat, "log-format", "json", "format of the agent's own logs on standard error: json or text")
	fs.StringVar(&fl.logLevel, "log-level", "info", "least severe level logged: debug, info, warn or error")
	fs.BoolVar(&fl.check, "check-config", false, "validate the configuration and rules, then exit")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "Usage: klaxon agent [OPTIONS]\n\n"+
			"Follows the container logs of a node's system namespaces and raises alerts as\n"+
			"lines arrive. Alerts go to the configured sinks, or to standard output as JSON\n"+
			"lines when none is configured. Reloads the config and rules on SIGHUP and when\n"+
			"their files change. Stops on SIGINT or SIGTERM after saving its state.\n"+
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

// loadAgent loads and validates the config and rules that fl name. It
// returns a name of the rules for messages too.
func loadAgent(fl *agentFlags) (*agentConfig, *scanner.RuleSet, string, error) {
	cfg, err := agentSetup(fl)
	if err != nil {
		return nil, nil, "", err
	}
	rs, rulesName, err := loadRules(cfg.Rules)
	if err != nil {
		return nil, nil, "", err
	}
	if err := checkRoutes(cfg, rs); err != nil {
		return nil, nil, "", err
	}
	return cfg, rs, rulesName, nil
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
	if fl.metrics != "" {
		cfg.MetricsAddress = fl.metrics
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

// closeSink flushes the sinks within closeGrace.
func closeSink(ctx context.Context, sink sinks.Sink, logger *slog.Logger) error {
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeGrace)
	defer cancel()
	err := sink.Close(closeCtx)
	if err != nil {
		logger.Error("cannot flush sinks", "err", err)
	}
	return err
}
