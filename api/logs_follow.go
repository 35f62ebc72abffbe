package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/results"
)

// follow writes the selected output of the job as it is produced, attempt
// by attempt in (index, attempt) order, the order of the stored output, and
// returns once the job is terminal and every selected attempt was written
// (or, for a selection that can get no further attempt, once all of them
// were). It never polls: it reads the job again when the Hub says the
// controller changed it.
//
// An attempt recorded finished is written from the store. A running one is
// relayed from the Engine's log stream, and once its outcome is recorded,
// the stored output beyond what was relayed is written: see followAttempt.
//
// Attempts are written one at a time: an attempt waits until every earlier
// one is written, and until no earlier index can get another attempt (it
// succeeded, failed for good, or the job is terminal), so that a follower
// sees what a later read of the stored output shows, in the same order.
func (l *logStream) follow(ctx context.Context) error {
	written := make(map[attemptKey]bool)
	for {
		changed := l.s.hub.Changed(l.id)
		job, err := l.s.getJob(ctx, l.id)
		if err != nil {
			return err
		}
		sel := newSelection(job, l.opts.query)
		if a, ok := sel.next(written); ok {
			if err := l.followAttempt(ctx, a); err != nil {
				return err
			}
			written[keyOf(a)] = true
			continue
		}
		if !sel.moreMayCome() {
			if job.Status.Phase.Terminal() {
				l.s.releaseHub(l.id)
			}
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// followAttempt writes the output of attempt a, waiting for it as needed.
//
// The hand-over from live to stored output: while the attempt runs, its
// service's log is relayed from the Engine (Follow, Timestamps) and a
// results.Position counts, per stream, the lines (and the bytes of an
// unfinished line) relayed. The relay ends when the Engine ends the stream
// or, since a follow stream outlives its task and even its service, when
// the controller records the attempt finished. The controller records the
// outcome only after it captured the task's whole log from the same Engine
// log, so the stored output holds everything relayed, in the same order per
// stream, and possibly more (lines written after the relay ended, a last
// line without a newline, which the Engine does not send on a follow
// stream). The stored output is then written with what the Position covers
// left out: nothing is written twice, and nothing is skipped.
func (l *logStream) followAttempt(ctx context.Context, a jobs.Attempt) error {
	aw := l.newAttemptWriter(a)
	var seen results.Position
	if !a.Finished() {
		var err error
		a, err = l.waitAttempt(ctx, keyOf(a), func(a jobs.Attempt) bool { return a.Finished() || a.ServiceID != "" })
		if err != nil {
			return err
		}
		if !a.Finished() && l.s.live != nil {
			if err := l.relay(ctx, a, aw, &seen); err != nil {
				return err
			}
		}
		if a, err = l.waitAttempt(ctx, keyOf(a), jobs.Attempt.Finished); err != nil {
			return err
		}
	}
	return l.writeAttemptStored(ctx, a, aw, &seen)
}

// relay writes running attempt a's output from the Engine's log stream and
// advances seen past each segment written, until the stream ends, the
// attempt is recorded finished, or ctx ends. An Engine that refuses or cuts
// the stream (the service is already gone, its node is down) is not an
// error: the stored output, once recorded, supplies the rest. Errors are
// those of writing the response and ctx's.
func (l *logStream) relay(ctx context.Context, a jobs.Attempt, aw *attemptWriter, seen *results.Position) error {
	liveCtx, cancel := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		defer cancel()
		// Its error, if any, is met again by the caller's own wait.
		_, _ = l.waitAttempt(liveCtx, keyOf(a), jobs.Attempt.Finished)
	}()
	defer func() {
		cancel()
		<-watching
	}()

	rc, err := l.s.live.ServiceLogs(liveCtx, a.ServiceID, l.engineLogOptions(true))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.logRelayEnd(ctx, a, err)
		return nil
	}
	defer rc.Close()
	er := results.NewEngineReader(rc)
	for {
		s, err := er.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if liveCtx.Err() == nil && !errors.Is(err, io.EOF) {
				l.logRelayEnd(ctx, a, err)
			}
			return nil
		}
		seen.Advance(s)
		if err := aw.segment(s); err != nil {
			return err
		}
		// Flush once the Engine has sent nothing more for now.
		if !er.Buffered() {
			if err := l.out.flush(); err != nil {
				return err
			}
		}
	}
}

func (l *logStream) logRelayEnd(ctx context.Context, a jobs.Attempt, err error) {
	l.s.log.LogAttrs(ctx, slog.LevelDebug, "live log stream ended",
		slog.String("job", l.id), slog.String("service", a.ServiceID),
		slog.Int("index", a.Index), slog.Int("attempt", a.Attempt), slog.Any("err", err))
}

// waitAttempt returns attempt k of the job once done(attempt) holds,
// reading the job again each time the Hub reports a change. It returns
// ENOTFOUND when the job is deleted, and ctx's error when ctx ends first.
func (l *logStream) waitAttempt(ctx context.Context, k attemptKey, done func(jobs.Attempt) bool) (jobs.Attempt, error) {
	for {
		changed := l.s.hub.Changed(l.id)
		job, err := l.s.getJob(ctx, l.id)
		if err != nil {
			return jobs.Attempt{}, err
		}
		i := slices.IndexFunc(job.Status.Attempts, func(a jobs.Attempt) bool { return keyOf(a) == k })
		if i < 0 {
			// Attempts are never forgotten while their job exists.
			return jobs.Attempt{}, fmt.Errorf("attempt %d of index %d of job %s is no longer recorded", k.attempt, k.index, l.id)
		}
		if a := job.Status.Attempts[i]; done(a) {
			return a, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return jobs.Attempt{}, ctx.Err()
		}
	}
}

// selection is what a log query selects of a job as recorded at one moment.
type selection struct {
	job      *jobs.Job
	q        jobs.LogQuery
	attempts []jobs.Attempt
	// settled is the set of indexes that can get no further attempt.
	settled map[int]bool
}

func newSelection(job *jobs.Job, q jobs.LogQuery) *selection {
	s := &selection{job: job, q: q, attempts: selectedAttempts(job, q), settled: make(map[int]bool)}
	st := job.Status
	for _, set := range []string{st.CompletedIndexes, st.FailedIndexes} {
		if set == "" {
			continue
		}
		// A malformed set leaves its indexes unsettled: following then
		// waits for the job to end rather than reorder output.
		idx, err := jobs.ParseIndexes(set, max(job.Spec.Completions, 1))
		if err != nil {
			continue
		}
		for _, i := range idx {
			s.settled[i] = true
		}
	}
	if job.Spec.CompletionMode == jobs.Indexed {
		for _, a := range job.Status.Attempts {
			if a.State == jobs.AttemptSucceeded {
				s.settled[a.Index] = true
			}
		}
	}
	return s
}

// indexSettled reports whether index i can get no further attempt. Only an
// Indexed job's indexes settle before the job ends; a NonIndexed job runs
// every attempt as index 0 until it is terminal.
func (s *selection) indexSettled(i int) bool {
	return s.job.Status.Phase.Terminal() || (s.job.Spec.CompletionMode == jobs.Indexed && s.settled[i])
}

// next returns the first selected attempt not yet written, if it may be
// written now: every index before its own is settled, so that no attempt
// that sorts before it can still appear.
func (s *selection) next(written map[attemptKey]bool) (jobs.Attempt, bool) {
	for _, a := range s.attempts {
		if written[keyOf(a)] {
			continue
		}
		first := 0
		if s.q.Index != nil {
			first = *s.q.Index
		}
		for i := first; i < a.Index; i++ {
			if !s.indexSettled(i) {
				return jobs.Attempt{}, false
			}
		}
		return a, true
	}
	return jobs.Attempt{}, false
}

// moreMayCome reports whether a selected attempt may still appear.
func (s *selection) moreMayCome() bool {
	switch {
	case s.job.Status.Phase.Terminal():
		return false
	case s.q.Index != nil && s.q.Attempt != nil:
		// One attempt, which exists (checkLogSelection).
		return false
	case s.q.Index != nil:
		return !s.indexSettled(*s.q.Index)
	case s.job.Spec.CompletionMode == jobs.Indexed:
		for i := range s.job.Spec.Completions {
			if !s.indexSettled(i) {
				return true
			}
		}
		return false
	}
	return true
}
