package follow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultRoot           = "/var/log/pods"
	DefaultRescanInterval = 10 * time.Second
	DefaultCheckInterval  = time.Second
	DefaultRotateWait     = 5 * time.Second
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultMaxFiles       = 512
)

// Options configure a Tailer. Zero durations and limits take the defaults.
type Options struct {
	// Root is the kubelet's pod log folder.
	Root string
	// Namespaces selects the pods whose logs are followed.
	Namespaces NamespaceFilter
	// ExtraFiles are globs of further plain files to follow, such as a
	// control plane's own logs. They must not match rotated files.
	ExtraFiles []string
	// RescanInterval is the period of the full scan that catches what
	// inotify missed.
	RescanInterval time.Duration
	// CheckInterval is the period of each follower's checks for rotation,
	// truncation and deletion, and of the scan of folders that inotify
	// cannot watch.
	CheckInterval time.Duration
	// RotateWait is how long a renamed file must stay the same size before
	// it is closed, while the new file at its path is still empty.
	RotateWait time.Duration
	// IdleTimeout closes a file that has not grown for this long. It is
	// opened again when it grows.
	IdleTimeout time.Duration
	// MaxFiles caps the files followed at once. Each holds two descriptors.
	MaxFiles int
	// MaxLineBytes caps one line; 0 means scanner.DefaultMaxLineBytes.
	// Longer lines are cut, marked and counted, and are never copied whole.
	MaxLineBytes int

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	o.Root = filepath.Clean(o.Root)
	if o.RescanInterval <= 0 {
		o.RescanInterval = DefaultRescanInterval
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = DefaultCheckInterval
	}
	if o.RotateWait <= 0 {
		o.RotateWait = DefaultRotateWait
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Tailer discovers log files and runs one follower per path. Its Run method
// and the followers send Batches on the channel that Batches returns; the
// consumer must release every batch.
type Tailer struct {
	opts      Options
	log       *slog.Logger
	positions *Positions
	metrics   *metrics
	out       chan *Batch
	watcher   *dirWatcher

	followers map[string]*followerHandle
	ended     chan followerEnd
	wg        sync.WaitGroup
	deferLog  sync.Once
	firstScan bool
	// rootMissing is set while the log root does not exist, so that its
	// absence is logged once and its creation logged when it appears.
	rootMissing bool

	// starting counts followers that have not yet read up to the end of
	// the file at their path. scanned is set once the first scan is done.
	starting atomic.Int64
	scanned  atomic.Bool
}

type followerHandle struct {
	f      *follower
	cancel context.CancelFunc
}

type followerEnd struct {
	path   string
	reason endReason
}

// NewTailer returns a Tailer that starts each path at its position in
// positions.
func NewTailer(opts Options, positions *Positions) (*Tailer, error) {
	opts.setDefaults()
	if err := opts.Namespaces.Validate(); err != nil {
		return nil, err
	}
	for _, g := range opts.ExtraFiles {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, fmt.Errorf("invalid extra file pattern %q: %w", g, err)
		}
	}
	t := &Tailer{
		opts:      opts,
		log:       opts.Logger,
		positions: positions,
		metrics:   newMetrics(opts.Registerer),
		out:       make(chan *Batch, 64),
		followers: map[string]*followerHandle{},
		ended:     make(chan followerEnd),
	}
	return t, nil
}

// Batches returns the channel the lines arrive on. It is closed when Run
// returns.
func (t *Tailer) Batches() <-chan *Batch { return t.out }

// Run discovers and follows files until ctx is cancelled, then stops every
// follower and closes the Batches channel.
func (t *Tailer) Run(ctx context.Context) error {
	defer close(t.out)
	t.watcher = newDirWatcher(t.log, t.metrics)
	defer t.watcher.close()
	followCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		t.wg.Wait()
		t.metrics.files.Set(0)
	}()
	t.firstScan = t.positions.Fresh()
	t.scanAll(followCtx)
	t.firstScan = false
	t.scanned.Store(true)
	t.log.Info("following files", "root", t.opts.Root, "files", len(t.followers))

	rescan := time.NewTicker(t.opts.RescanInterval)
	defer rescan.Stop()
	poll := time.NewTicker(t.opts.CheckInterval)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case end := <-t.ended:
			t.remove(end)
		case <-rescan.C:
			t.scanAll(followCtx)
		case <-poll.C:
			t.scanPolled(followCtx)
		case ev := <-t.watcher.events():
			t.handleEvent(followCtx, ev)
		case err := <-t.watcher.errors():
			t.log.Warn("inotify reported an error; scanning everything", "err", err)
			t.scanAll(followCtx)
		}
	}
}

// resumeSaved starts a follower for every saved path that no longer exists,
// so that what is left of a deleted pod's files is read, or counted as lost,
// and its position dropped.
func (t *Tailer) resumeSaved(ctx context.Context) {
	for _, pos := range t.positions.List() {
		if _, ok := t.followers[pos.Path]; ok || !t.Follows(pos.Path) {
			continue
		}
		if _, err := os.Stat(pos.Path); errors.Is(err, fs.ErrNotExist) {
			t.start(ctx, pos.Path)
		}
	}
}

// CaughtUp reports whether the first scan is done and every follower has
// read its file up to the end once. Until then lines older than the present
// may still come, so the engine must not yet take the wall clock as the
// current event time.
func (t *Tailer) CaughtUp() bool {
	return t.scanned.Load() && t.starting.Load() == 0
}

// consider starts a follower for path unless one runs, or the file has not
// grown since it was last read.
func (t *Tailer) consider(ctx context.Context, path string) {
	if _, ok := t.followers[path]; ok {
		return
	}
	if pos, ok := t.positions.Get(path); ok {
		fi, err := os.Stat(path)
		if err == nil && statID(fi).sameInode(pos.FileID) && fi.Size() == pos.Offset {
			return
		}
	}
	t.start(ctx, path)
}

func (t *Tailer) start(ctx context.Context, path string) {
	if len(t.followers) >= t.opts.MaxFiles {
		t.metrics.deferred.Inc()
		t.deferLog.Do(func() {
			t.log.Warn("too many open files; new files wait until others are closed",
				"max_files", t.opts.MaxFiles, "path", path)
		})
		return
	}
	f := newFollower(t, path)
	fctx, cancel := context.WithCancel(ctx)
	t.followers[path] = &followerHandle{f: f, cancel: cancel}
	t.metrics.files.Set(float64(len(t.followers)))
	fromEnd := t.firstScan
	t.starting.Add(1)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		reason := f.run(fctx, fromEnd)
		f.caughtUp()
		select {
		case t.ended <- followerEnd{path: path, reason: reason}:
		case <-fctx.Done():
		}
	}()
}

func (t *Tailer) remove(end followerEnd) {
	h, ok := t.followers[end.path]
	if !ok {
		return
	}
	h.cancel()
	delete(t.followers, end.path)
	t.metrics.files.Set(float64(len(t.followers)))
	switch end.reason {
	case endIdle:
		h.f.log.Debug("closed idle file")
	case endDone:
		h.f.log.Info("file is gone and was read to its end")
	}
}

// wake makes the followers of path, or of every path under the folder path,
// check their files now.
func (t *Tailer) wake(path string) {
	if h, ok := t.followers[path]; ok {
		h.f.wake()
		return
	}
	prefix := path + string(filepath.Separator)
	for p, h := range t.followers {
		if len(p) > len(prefix) && p[:len(prefix)] == prefix {
			h.f.wake()
		}
	}
}
