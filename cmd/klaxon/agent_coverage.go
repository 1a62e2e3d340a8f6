package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/klaxon-agent/klaxon/scanner/follow"
)

// coverageLogInterval is the period of the coverage summary in the log.
const coverageLogInterval = 5 * time.Minute

// maxGapsLogged bounds the unread files that one summary names.
const maxGapsLogged = 10

// coverageSummary counts the files of a coverage report.
type coverageSummary struct {
	files, followed, behind int
	gaps                    []string // paths of files on disk that are not followed
}

func summarizeCoverage(list []follow.Coverage) coverageSummary {
	var s coverageSummary
	for _, c := range list {
		if c.Size < 0 && c.Followed {
			continue // a deleted file whose rest is still being read
		}
		s.files++
		switch {
		case !c.Followed:
			s.gaps = append(s.gaps, c.Path)
		case c.Offset < c.Size:
			s.followed++
			s.behind++
		default:
			s.followed++
		}
	}
	return s
}

// firstCoverageWait bounds the wait for the pipeline to catch up before the
// first coverage summary, which a node with a large backlog may take long
// to do.
const firstCoverageWait = time.Minute

// logCoverage logs a coverage summary once the pipeline has caught up, or
// firstCoverageWait has passed, then every coverageLogInterval until ctx
// ends. Files on disk that are not followed are logged at warning level,
// because their lines raise no alert.
func logCoverage(ctx context.Context, probe agentProbe, logger *slog.Logger) {
	wait := time.NewTicker(100 * time.Millisecond)
	defer wait.Stop()
	for start := time.Now(); !probe.CaughtUp() && time.Since(start) < firstCoverageWait; {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
	}
	tick := time.NewTicker(coverageLogInterval)
	defer tick.Stop()
	for {
		s := summarizeCoverage(probe.Coverage())
		logger.Info("coverage", "files", s.files, "followed", s.followed, "behind", s.behind, "not_followed", len(s.gaps))
		if len(s.gaps) > 0 {
			logger.Warn("log files not followed", "count", len(s.gaps), "paths", s.gaps[:min(len(s.gaps), maxGapsLogged)])
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
