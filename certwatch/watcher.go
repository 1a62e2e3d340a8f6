package certwatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Options are a Watcher's dependencies.
type Options struct {
	Logger     *slog.Logger          // nil discards the logs
	Registerer prometheus.Registerer // nil leaves the metrics unregistered
	Node       string                // copied into every alert
	// Emit receives every alert that starts or ends, from the goroutine that
	// runs Run or Check. It must not block for long, because no check is
	// applied meanwhile.
	Emit func(*scanner.Alert)
	Now  func() time.Time // nil uses time.Now
}

// Watcher checks certificate files and TLS endpoints and emits alerts about
// the certificates it finds.
type Watcher struct {
	cfg     Config
	logger  *slog.Logger
	emit    func(*scanner.Alert)
	now     func() time.Time
	tracker *tracker
	metrics *metrics

	files    map[string]bool   // file sources of the last files check
	patterns map[string]bool   // patterns that failed to expand
	failing  map[string]string // last error logged per source
}

// New returns a Watcher for cfg, which must pass Validate.
func New(cfg Config, opts Options) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid certificate watch config: %w", err)
	}
	if opts.Emit == nil {
		return nil, errors.New("create certificate watcher: Options.Emit is nil")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		cfg:      cfg,
		logger:   opts.Logger,
		emit:     opts.Emit,
		now:      opts.Now,
		tracker:  newTracker(cfg.Thresholds(), opts.Node),
		metrics:  m,
		files:    make(map[string]bool),
		patterns: make(map[string]bool),
		failing:  make(map[string]string),
	}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Check reads the files and probes every endpoint once, one after the other,
// then emits the alerts that start or end. It must not run concurrently with
// Run.
func (w *Watcher) Check(ctx context.Context) {
	w.checkFiles(ctx)()
	for i := range w.cfg.Endpoints {
		w.checkEndpoint(ctx, i)()
	}
	w.evaluate()
}

// Run checks the files and each endpoint at their intervals, the first time
// at once, until ctx is done, and then returns nil. Each endpoint is probed on
// its own goroutine so that a slow one delays no other. Results are applied,
// and alerts emitted, on the goroutine that called Run.
func (w *Watcher) Run(ctx context.Context) error {
	w.logger.Info("certificate watch started", "patterns", len(w.cfg.Files), "endpoints", len(w.cfg.Endpoints))
	defer w.logger.Info("certificate watch stopped")

	results := make(chan func())
	var wg sync.WaitGroup
	defer wg.Wait()
	if len(w.cfg.Files) > 0 {
		wg.Go(func() { repeat(ctx, time.Duration(w.cfg.Interval), w.checkFiles, results) })
	}
	for i, ep := range w.cfg.Endpoints {
		interval := cmp.Or(time.Duration(ep.Interval), time.Duration(w.cfg.Interval))
		wg.Go(func() {
			repeat(ctx, interval, func(ctx context.Context) func() { return w.checkEndpoint(ctx, i) }, results)
		})
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case apply := <-results:
			apply()
			w.evaluate()
		}
	}
}

// repeat runs check every interval until ctx is done and sends the function
// that applies each result to results.
func repeat(ctx context.Context, interval time.Duration, check func(context.Context) func(), results chan<- func()) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		apply := check(ctx)
		select {
		case <-ctx.Done():
			return
		case results <- apply:
		}
		timer.Reset(interval)
	}
}

// Snapshot returns the state of the alerts as JSON. Call it before Run
// starts or after it returns.
func (w *Watcher) Snapshot() ([]byte, error) { return w.tracker.snapshot() }

// Restore loads a Snapshot, so that the alerts it holds are not sent again
// and are resolved when their condition has ended. Call it before Run.
func (w *Watcher) Restore(data []byte) error { return w.tracker.restore(data) }

type fileRead struct {
	certs []*Certificate
	err   error
}

// checkFiles reads the files that the patterns match and returns the
// function that records the result.
func (w *Watcher) checkFiles(ctx context.Context) func() {
	reads := make(map[string]fileRead)
	patternErrs := make(map[string]error)
	for _, pattern := range w.cfg.Files {
		if ctx.Err() != nil {
			break
		}
		paths, err := Expand([]string{pattern})
		if err != nil {
			patternErrs[pattern] = err
		}
		for _, path := range paths {
			certs, err := ReadFile(path)
			if errors.Is(err, ErrNoCertificate) {
				continue // a private key, or a kubeconfig without embedded certificates
			}
			reads[path] = fileRead{certs: certs, err: err}
		}
	}
	return func() { w.applyFiles(reads, patternErrs, ctx.Err() != nil) }
}

func (w *Watcher) applyFiles(reads map[string]fileRead, patternErrs map[string]error, partial bool) {
	for path, r := range reads {
		w.tracker.observe(path, kindFile, r.certs, r.err)
		w.record(path, kindFile, len(r.certs), r.err)
	}
	for pattern := range w.patterns {
		if patternErrs[pattern] == nil {
			w.tracker.forget(pattern)
			w.record(pattern, kindFile, 0, nil)
			delete(w.patterns, pattern)
		}
	}
	for pattern, err := range patternErrs {
		w.tracker.observe(pattern, kindFile, nil, err)
		w.record(pattern, kindFile, 0, err)
		w.patterns[pattern] = true
	}

	// A file missing from a complete check is gone, and its alerts end. After
	// an incomplete one, a file may be missing only because its directory
	// could not be read.
	if len(patternErrs) > 0 || partial {
		for path := range reads {
			w.files[path] = true
		}
		return
	}
	for path := range w.files {
		if _, ok := reads[path]; !ok {
			w.tracker.forget(path)
			delete(w.failing, path)
			delete(w.files, path)
		}
	}
	for path := range reads {
		w.files[path] = true
	}
}

// checkEndpoint probes endpoint i and returns the function that records the
// result.
func (w *Watcher) checkEndpoint(ctx context.Context, i int) func() {
	ep := w.cfg.Endpoints[i]
	address, _ := ParseEndpoint(ep.Address) // checked by Validate
	timeout := cmp.Or(time.Duration(ep.Timeout), time.Duration(w.cfg.Timeout))
	certs, err := Probe(ctx, address, ep.ServerName, timeout)
	source := EndpointSource(address, ep.ServerName)
	return func() {
		if ctx.Err() != nil {
			return // a probe cut short by shutdown is no evidence about the endpoint
		}
		w.tracker.observe(source, kindEndpoint, certs, err)
		w.record(source, kindEndpoint, len(certs), err)
	}
}

// record counts and logs the result of a check. A failure is logged when its
// message differs from the last one of the same source, so a source that
// stays broken is not logged at every interval.
func (w *Watcher) record(source string, kind sourceKind, n int, err error) {
	if err == nil {
		if _, ok := w.failing[source]; ok {
			w.logger.Info("certificate check recovered", "source", source)
			delete(w.failing, source)
		}
		w.logger.Debug("certificates checked", "source", source, "certificates", n)
		return
	}
	w.metrics.countFailure(kind, err)
	if w.failing[source] != err.Error() {
		w.logger.Warn("certificate check failed", "source", source, "err", err)
		w.failing[source] = err.Error()
	}
}

func (w *Watcher) evaluate() {
	alerts, current := w.tracker.evaluate(w.now())
	w.metrics.update(current)
	for _, a := range alerts {
		w.emit(a)
	}
}
