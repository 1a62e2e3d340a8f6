package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Defaults of PipelineOptions.
const (
	DefaultCheckpointInterval = 5 * time.Second
	// StateFileName is the name of the state file in the state folder.
	StateFileName = "state.json"
)

// Periods of the pipeline's housekeeping.
const (
	tickInterval   = 100 * time.Millisecond
	advanceEvery   = time.Second
	partialTimeout = 5 * time.Second // a partial line waits this long for its last chunk
)

// PipelineOptions configure a Pipeline.
type PipelineOptions struct {
	Tail  Options
	Rules *scanner.RuleSet
	// Node is put on every alert and on the lines' sources.
	Node string
	// StateDir holds the state file. It is created if missing. While it
	// cannot be created or written, the state stays in memory and every
	// save tries again.
	StateDir string
	// Deliver is called for every alert, from the pipeline's goroutine. It
	// returns once the alert is delivered or durably queued; only then do
	// positions move past the lines behind it. An error is logged and
	// counted, and the alert is not retried.
	Deliver func(*scanner.Alert) error
	// FromStart reads the files present at the very first start, without a
	// saved state, from their beginning instead of their end.
	FromStart bool
	// CheckpointInterval is the period of state saves. The state is also
	// saved after every alert and on shutdown.
	CheckpointInterval time.Duration
}

// Pipeline follows files and runs the rule engine over them. One goroutine,
// the one calling Run, decodes, merges, matches and delivers.
type Pipeline struct {
	opts      PipelineOptions
	log       *slog.Logger
	tailer    *Tailer
	positions *Positions
	engine    *scanner.Engine
	merge     merger
	metrics   *pipelineMetrics
	stateFile string
	// saveFailing is true from a failed save to the next successful one.
	saveFailing bool
	mergedSeen  int64    // the engine's merged-alert count already in the metric
	lock        *os.File // nil while the state folder is not usable

	emitted   bool // an alert was raised since the last save
	decoded   []scanner.Line
	lastSaved time.Time

	ended    []endedSource
	requests chan func()  // run on the pipeline's goroutine, from SetRules
	progress atomic.Int64 // Unix nanoseconds of the loop's last round
	caughtUp atomic.Bool  // every file was read to its end once and handled
	lastLine lastLines
}

// NewPipeline reads the state file, restores the engine from it, and
// prepares the Tailer. It locks the state folder against a second agent. A
// state folder that cannot be created or locked does not stop it, but one
// that another agent has locked does.
func NewPipeline(opts PipelineOptions) (*Pipeline, error) {
	opts.Tail.setDefaults()
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.Deliver == nil {
		return nil, errors.New("pipeline needs a Deliver function")
	}

	p := &Pipeline{
		opts:      opts,
		log:       opts.Tail.Logger,
		stateFile: filepath.Join(opts.StateDir, StateFileName),
		merge:     merger{streams: map[string]*stream{}, behind: map[*stream]bool{}},
		lastLine:  lastLines{m: map[string]time.Time{}},
		requests:  make(chan func()),
	}
	if err := p.openStateDir(); err != nil {
		return nil, err
	}
	p.metrics = newPipelineMetrics(opts.Tail.Registerer)
	p.progress.Store(time.Now().UnixNano())
	p.engine = scanner.NewEngine(opts.Rules, scanner.EngineOptions{Node: opts.Node, Emit: p.deliver})

	st := &State{}
	if p.stateDirExists() {
		st = p.loadState()
	}
	p.positions = NewPositions(st.Positions, st.SavedAt.IsZero() && !opts.FromStart)
	var err error
	if p.tailer, err = NewTailer(opts.Tail, p.positions); err != nil {
		p.closeLock()
		return nil, err
	}

	// Positions of paths the configuration no longer selects are dropped.
	for _, pos := range p.positions.List() {
		if !p.tailer.Follows(pos.Path) {
			p.positions.Delete(pos.Path)
		}
	}
	return p, nil
}

// loadState reads the state file and restores the engine. A missing file
// is a first start; a corrupt one is kept aside for inspection.
func (p *Pipeline) loadState() *State {
	st, err := ReadState(p.stateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		p.log.Info("no saved state; this is a first start", "file", p.stateFile)
		return &State{}
	case err != nil:
		aside := p.stateFile + ".corrupt"
		p.log.Error("cannot read saved state; starting as on a first start",
			"err", err, "kept_as", aside)
		if rerr := os.Rename(p.stateFile, aside); rerr != nil {
			p.log.Error("cannot keep corrupt state file", "err", rerr)
		}
		return &State{}
	}
	if len(st.Engine) > 0 {
		if err := p.engine.Restore(st.Engine); err != nil {
			p.log.Warn("cannot restore alert state; windows and cooldowns start empty", "err", err)
		}
	}
	p.log.Info("resuming from saved state", "files", len(st.Positions), "saved_at", st.SavedAt)
	return st
}

// Run follows files and raises alerts until ctx is cancelled. It then stops
// reading, saves the state and returns. The Deliver function's sink is the
// caller's to flush.
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.closeLock()
	tailCtx, stopTail := context.WithCancel(ctx)
	defer stopTail()
	tailErr := make(chan error, 1)
	go func() { tailErr <- p.tailer.Run(tailCtx) }()

	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	batches := p.tailer.Batches()
	lastAdvance := time.Now()
	p.lastSaved = time.Now()
	for batches != nil {
		p.progress.Store(time.Now().UnixNano())
		select {
		case <-ctx.Done():
			batches = nil
		case b, ok := <-batches:
			if !ok {
				batches = nil
				break
			}
			p.accept(b)
			p.acceptReady(batches)
			p.release()
		case req := <-p.requests:
			req()
		case now := <-tick.C:
			p.flushHeld(now)
			p.release()
			p.metrics.queued.Set(float64(p.merge.queued()))
			caughtUp := p.merge.caughtUp() && p.tailer.CaughtUp()
			if caughtUp {
				p.caughtUp.Store(true)
			}
			if len(p.ended) > 0 && now.Sub(lastAdvance) >= advanceEvery {
				p.forgetDeletedPods(now)
			}
			if now.Sub(lastAdvance) >= advanceEvery && caughtUp {
				p.engine.Advance(now)
				lastAdvance = now
			}
			if m := p.engine.Stats.Merged; m < p.mergedSeen {
				p.mergedSeen = 0 // a reload started a new engine
			} else if m > p.mergedSeen {
				p.metrics.merged.Add(float64(m - p.mergedSeen))
				p.mergedSeen = m
			}
			if p.emitted || now.Sub(p.lastSaved) >= p.opts.CheckpointInterval {
				p.save()
			}
		}
	}
	stopTail()
	for b := range p.tailer.Batches() {
		b.Release()
	}
	err := <-tailErr
	if saveErr := p.save(); saveErr != nil {
		err = errors.Join(err, fmt.Errorf("save positions and alert state: %w", saveErr))
	}
	p.log.Info("stopped following files")
	return err
}

// acceptReady accepts further batches that are already waiting, so the merge
// has lines of as many files as possible before it releases any.
func (p *Pipeline) acceptReady(batches <-chan *Batch) {
	for range 64 {
		select {
		case b, ok := <-batches:
			if !ok {
				return
			}
			p.accept(b)
		default:
			return
		}
	}
}

// release processes queued entries in merge order while the merge allows.
// When an alert was raised, the state is saved before anything else is read,
// so that a crash can repeat only the alerts of this one round.
func (p *Pipeline) release() {
	now := time.Now()
	for {
		s := p.merge.next(now)
		if s == nil {
			break
		}
		e := p.merge.pop(s)
		p.handle(s, &e)
	}
	if p.emitted {
		p.save()
	}
}

// handle processes one entry: the line goes to the engine, then the path's
// position moves past it.
func (p *Pipeline) handle(s *stream, e *entry) {
	if e.isLine {
		p.engine.Process(&e.line)
		p.metrics.lines.Inc()
		p.metrics.lag.Set(time.Since(e.line.Time).Seconds())
		p.lastLine.set(s.path, e.line.Time)
	}
	switch {
	case e.done:
		p.positions.Delete(s.path)
		p.lastLine.delete(s.path)
		p.endSource(s, time.Now())
		if len(s.queue) == 0 {
			delete(p.merge.streams, s.path)
			p.merge.setBehind(s, false, time.Time{})
		}
	case e.pos.Path != "":
		p.positions.Set(e.pos)
	}
	e.ref.drop()
}

// endedSource is the source of a path that no longer exists, kept until its
// pod folder is gone too or forgetWait has passed.
type endedSource struct {
	src    *scanner.Source
	podDir string
	at     time.Time
}

// forgetWait is how long the pipeline waits for the pod folder of a deleted
// container log to go. The kubelet removes a pod's files before its folder,
// and a container's old log may go while its pod lives on.
const forgetWait = time.Hour

// endSource notes that a stream's path is gone, so that its source is
// forgotten once its pod folder is gone too.
func (p *Pipeline) endSource(s *stream, now time.Time) {
	if s.src.Pod == "" || s.src.PodUID == "" {
		return
	}
	podDir := filepath.Dir(filepath.Dir(s.path))
	if filepath.Base(podDir) != s.src.Namespace+"_"+s.src.Pod+"_"+s.src.PodUID {
		return
	}
	p.ended = append(p.ended, endedSource{src: s.src, podDir: podDir, at: now})
	p.forgetDeletedPods(now)
}

// forgetDeletedPods makes the engine forget the sources of deleted pods, so
// that absent and volume rules do not alert on their silence. A
// container's old log removed while its pod lives on is not forgotten,
// because the pod's silence still matters.
func (p *Pipeline) forgetDeletedPods(now time.Time) {
	p.ended = slices.DeleteFunc(p.ended, func(e endedSource) bool {
		if _, err := os.Stat(e.podDir); errors.Is(err, os.ErrNotExist) {
			p.engine.Forget(e.src)
			p.log.Info("forgot deleted pod's log", "namespace", e.src.Namespace, "pod", e.src.Pod, "path", e.src.Path)
			return true
		}
		return now.Sub(e.at) > forgetWait
	})
}

// deliver is the engine's Emit function.
func (p *Pipeline) deliver(a *scanner.Alert) {
	p.emitted = true
	p.metrics.alerts.WithLabelValues(a.Rule, a.Severity.String()).Inc()
	if err := p.opts.Deliver(a); err != nil {
		p.metrics.deliveryFailures.Inc()
		p.log.Error("cannot deliver alert", "rule", a.Rule, "namespace", a.Namespace, "pod", a.Pod, "err", err)
	}
}

// LastProgress returns when the pipeline's loop last began a round. The loop
// wakes at least every 100 ms while it runs, so an old time means it is
// stuck, for example in a Deliver call that does not return.
func (p *Pipeline) LastProgress() time.Time {
	return time.Unix(0, p.progress.Load())
}

// Scanned reports whether the first scan for files is done.
func (p *Pipeline) Scanned() bool { return p.tailer.scanned.Load() }

// CaughtUp reports whether, since the start, every file found was read to
// its end once and its lines were handled, so that Coverage shows each
// opened file as followed.
func (p *Pipeline) CaughtUp() bool { return p.caughtUp.Load() }

// save writes the positions and the engine's state in one state file. It
// logs a failure and returns it.
func (p *Pipeline) save() error {
	p.emitted = false
	p.lastSaved = time.Now()
	err := p.writeState()
	if err != nil {
		// Positions and alert state stay in memory and the next save tries
		// again. The error is logged once until a save succeeds, not on
		// every save of a full or read-only state folder, and the failures
		// metric counts each one.
		p.metrics.saveFailures.Inc()
		if !p.saveFailing {
			p.saveFailing = true
			p.log.Error("cannot save state; keeping it in memory and retrying", "file", p.stateFile, "err", err)
		}
		return err
	}
	if p.saveFailing {
		p.saveFailing = false
		p.log.Info("state saved again", "file", p.stateFile)
	}
	p.metrics.saves.Inc()
	return nil
}

// writeState creates and locks the state folder if needed, then writes the
// state file.
func (p *Pipeline) writeState() error {
	if err := p.prepareStateDir(); err != nil {
		return err
	}
	snap, err := p.engine.Snapshot()
	if err != nil {
		return err
	}
	return WriteState(p.stateFile, &State{SavedAt: p.lastSaved, Positions: p.positions.List(), Engine: snap})
}

type pipelineMetrics struct {
	lines            prometheus.Counter
	alerts           *prometheus.CounterVec
	truncated        prometheus.Counter
	merged           prometheus.Counter
	malformed        prometheus.Counter
	queued           prometheus.Gauge
	deliveryFailures prometheus.Counter
	saves            prometheus.Counter
	saveFailures     prometheus.Counter
	lag              prometheus.Gauge
}
