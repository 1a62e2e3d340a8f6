package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/klaxon-agent/klaxon/scanner"
)

// reloadQuiet is how long the watched folders must stay quiet after a change
// before the files are read, so that an editor's or the kubelet's several
// writes and renames make one reload.
const reloadQuiet = 300 * time.Millisecond

// reloadRecheck is how often the files are compared with the loaded ones
// even without a watch event, because inotify can drop events.
const reloadRecheck = 10 * time.Second

// reloadCloseGrace bounds the flush of sinks replaced by a reload. Alerts
// they have not delivered stay in their spools, which the new sinks of the
// same names deliver.
const reloadCloseGrace = 5 * time.Second

// Reload triggers, the values of the trigger log key.
const (
	triggerSignal = "SIGHUP"
	triggerFiles  = "file change"
)

// loadFunc reads and validates the config and rules files.
type loadFunc func() (*agentConfig, *scanner.RuleSet, error)

// applyFunc puts a validated config and rules into effect.
type applyFunc func(ctx context.Context, cfg *agentConfig, rs *scanner.RuleSet) error

// reloader reloads the config and rules on SIGHUP and when their files
// change, including the symbolic link swap of a ConfigMap update, which
// renames the ..data link of the mounted folder.
type reloader struct {
	load    loadFunc
	apply   applyFunc
	log     *slog.Logger
	metrics *reloadMetrics

	hup        chan os.Signal
	configFile string
	files      []string // the config and rules files
	digest     [sha256.Size]byte
}

type reloadMetrics struct {
	reloads     *prometheus.CounterVec
	successful  prometheus.Gauge
	lastSuccess prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	f := promauto.With(reg)
	m := &reloadMetrics{
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_agent_config_reloads_total",
			Help: "Reloads of the config and rules files, by result: success or failure.",
		}, []string{"result"}),
		successful: f.NewGauge(prometheus.GaugeOpts{
			Name: "klaxon_agent_config_last_reload_successful",
			Help: "1 when the last reload, or the start, loaded the config and rules, 0 when it failed.",
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "klaxon_agent_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful reload, or of the start.",
		}),
	}
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.successful.Set(1)
	m.lastSuccess.SetToCurrentTime()
	return m
}

// newReloader returns a reloader for the files of cfg.
func newReloader(cfg *agentConfig, configFile string, load loadFunc, apply applyFunc, logger *slog.Logger,
	reg prometheus.Registerer) *reloader {
	r := &reloader{load: load, apply: apply, log: logger, metrics: newReloadMetrics(reg), configFile: configFile}
	r.files = watchedFiles(configFile, cfg)
	r.digest = digestFiles(r.files)
	// SIGHUP is caught from here on, so that it cannot end the agent once
	// the agent reports that it started.
	r.hup = make(chan os.Signal, 1)
	signal.Notify(r.hup, syscall.SIGHUP)
	return r
}

// watchedFiles returns the config file, if any, and the rules files that
// loadRules reads for cfg.
func watchedFiles(configFile string, cfg *agentConfig) []string {
	var files []string
	if configFile != "" {
		files = append(files, configFile)
	}
	if len(cfg.Rules) > 0 {
		return append(files, cfg.Rules...)
	}
	if _, err := os.Stat("rules.toml"); err == nil {
		files = append(files, "rules.toml")
	}
	return files
}

// digestFiles hashes the content of files, following symbolic links. A
// file that cannot be read counts by its error, so that its return is a
// change too.
func digestFiles(files []string) [sha256.Size]byte {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			data = []byte(err.Error())
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// run reloads on SIGHUP and on changes of the files until ctx ends.
func (r *reloader) run(ctx context.Context) {
	defer signal.Stop(r.hup)

	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Warn("cannot watch the config and rules files; reload with SIGHUP", "err", err)
	} else {
		defer watcher.Close()
		r.watch(watcher)
	}
	var events chan fsnotify.Event
	var watchErrs chan error
	if watcher != nil {
		events, watchErrs = watcher.Events, watcher.Errors
	}

	// The files may have changed between loading them and adding the
	// watches, so compare them once now. Later, a periodic comparison
	// catches events the watcher lost.
	quiet := time.NewTimer(0)
	defer quiet.Stop()
	recheck := time.NewTicker(reloadRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.hup:
			r.reload(ctx, triggerSignal)
			if watcher != nil {
				r.watch(watcher)
			}
		case ev := <-events:
			if r.concerns(ev.Name) {
				quiet.Reset(reloadQuiet)
			}
		case err := <-watchErrs:
			r.log.Warn("watching the config and rules files failed; checking them now", "err", err)
			quiet.Reset(reloadQuiet)
		case <-recheck.C:
			quiet.Reset(0)
		case <-quiet.C:
			if digestFiles(r.files) == r.digest {
				continue
			}
			r.reload(ctx, triggerFiles)
			if watcher != nil {
				r.watch(watcher)
			}
		}
	}
}

// watch watches the folders of the files. Folders, not files, are watched,
// because a ConfigMap update and many editors replace a file by renaming
// another over it.
func (r *reloader) watch(w *fsnotify.Watcher) {
	var dirs []string
	for _, f := range r.files {
		dirs = append(dirs, filepath.Dir(f))
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	for _, old := range w.WatchList() {
		if !slices.Contains(dirs, old) {
			_ = w.Remove(old)
		}
	}
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			r.log.Warn("cannot watch folder for config changes", "folder", d, "err", err)
		}
	}
}

// concerns reports whether an event in a watched folder may change one of
// the files: the file itself, or any name starting with "..", such as the
// ..data link of a ConfigMap volume.
func (r *reloader) concerns(name string) bool {
	base := filepath.Base(name)
	if len(base) > 1 && base[:2] == ".." {
		return true
	}
	for _, f := range r.files {
		if filepath.Clean(f) == filepath.Clean(name) {
			return true
		}
	}
	return false
}

// reload loads and validates the files, then applies them. On failure the
// running config and rules stay, and the error, which names the file and
// line, is logged and counted.
func (r *reloader) reload(ctx context.Context, trigger string) {
	digest := digestFiles(r.files)
	cfg, rs, err := r.load()
	if err == nil {
		err = r.apply(ctx, cfg, rs)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		r.metrics.reloads.WithLabelValues("failure").Inc()
		r.metrics.successful.Set(0)
		r.log.Error("config reload failed; keeping the running config and rules", "trigger", trigger, "err", err)
		// The same content is not tried again until it changes.
		r.digest = digest
		return
	}
	r.metrics.reloads.WithLabelValues("success").Inc()
	r.metrics.successful.Set(1)
	r.metrics.lastSuccess.SetToCurrentTime()
	r.digest = digest
	// The new config may name other rules files.
	if files := watchedFiles(r.configFile, cfg); !slices.Equal(files, r.files) {
		r.files = files
		r.digest = digestFiles(files)
	}
	r.log.Info("config reloaded", "trigger", trigger, "rules", len(rs.Rules()))
}

// restartKeys returns the keys whose change takes effect only after a
// restart, because the files being followed and the state folder depend on
// them.
func restartKeys(old, cfg *agentConfig) []string {
	var keys []string
	for _, k := range []struct {
		key      string
		old, new any
	}{
		{"log_root", old.LogRoot, cfg.LogRoot},
		{"state_dir", old.StateDir, cfg.StateDir},
		{"node", old.Node, cfg.Node},
		{"start_at", old.StartAt, cfg.StartAt},
		{"extra_files", old.ExtraFiles, cfg.ExtraFiles},
		{"metrics_address", old.MetricsAddress, cfg.MetricsAddress},
		{"namespaces", old.Namespaces, cfg.Namespaces},
		{"follow", old.Follow, cfg.Follow},
		{"self_alert_after", old.SelfAlertAfter, cfg.SelfAlertAfter},
	} {
		if !reflect.DeepEqual(k.old, k.new) {
			keys = append(keys, k.key)
		}
	}
	return keys
}
