package follow

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// SetRules replaces the rules while Run runs. A new engine, restored from a
// snapshot of the old one, takes over, so windows, cooldowns and open
// episodes of rules that still exist carry over. Positions and queued lines
// stay as they are, and every stream's multi-line joining follows the new
// rules. SetRules returns once the pipeline's goroutine made the swap, or
// with ctx's error when ctx ends first.
//
// NOTE: the snapshot does not record which file each group's last line came
// from, so a pod deleted after a swap is not forgotten by absent and volume
// groups restored from it until they see a line again.
func (p *Pipeline) SetRules(ctx context.Context, rs *scanner.RuleSet) error {
	done := make(chan error, 1)
	select {
	case p.requests <- func() { done <- p.swapRules(rs) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// swapRules runs on the pipeline's goroutine.
func (p *Pipeline) swapRules(rs *scanner.RuleSet) error {
	snap, err := p.engine.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshot alert state: %w", err)
	}
	engine := scanner.NewEngine(rs, scanner.EngineOptions{Node: p.opts.Node, Emit: p.deliver})
	if err := engine.Restore(snap); err != nil {
		return fmt.Errorf("restore alert state under the new rules: %w", err)
	}
	// Held multi-line events end under the old settings, so that no event
	// mixes two ways of joining. Partial CRI chunks stay held.
	flushAll := time.Now().Add(24 * time.Hour)
	for _, s := range p.merge.streams {
		if s.multiline {
			p.decoded = p.decoded[:0]
			s.dec.FlushIdle(flushAll, p.collect)
			p.countStats(s)
			if !s.dec.Pending() {
				s.safe = s.rawEnd
			}
			p.queueDecoded(s, nil)
		}
	}
	p.engine = engine
	p.opts.Rules = rs
	for _, s := range p.merge.streams {
		p.setMultiline(s)
	}
	p.release()
	return nil
}
