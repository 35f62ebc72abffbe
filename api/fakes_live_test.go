package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
)

// fakeLive is the Engine's service logs for LiveLogs. Each service's log is
// a list of messages a test appends to with emit. A follow stream returns
// what is there, then blocks for more until its context ends, as the
// Engine's follow streams do even after the task ended and the service was
// removed; a stream without follow returns what is there and ends.
type fakeLive struct {
	mu    sync.Mutex
	logs  map[string]*fakeServiceLog
	calls []client.ServiceLogsOptions
	// open counts follow streams not yet closed.
	open int
	// wake is closed and replaced at every change.
	wake chan struct{}
}

type fakeServiceLog struct {
	msgs []fakeMsg
	gone bool // ServiceLogs fails: the service was removed
}

type fakeMsg struct {
	stream  jobs.Stream
	payload string
	// notLive keeps the message out of follow streams, as the Engine does
	// with a last line that has no newline: only a later read gets it.
	notLive bool
}

var _ LiveLogs = (*fakeLive)(nil)

func newFakeLive() *fakeLive {
	return &fakeLive{logs: make(map[string]*fakeServiceLog), wake: make(chan struct{})}
}

// changed wakes the open streams. The caller holds mu.
func (f *fakeLive) changed() {
	close(f.wake)
	f.wake = make(chan struct{})
}

// emit appends a message of text, stamped with a time that grows with each
// message, to the log of service svc.
func (f *fakeLive) emit(svc string, st jobs.Stream, text string) { f.add(svc, st, text, false) }

// emitNotLive is emit for a message that open and later follow streams do
// not get, but a stream without follow does.
func (f *fakeLive) emitNotLive(svc string, st jobs.Stream, text string) { f.add(svc, st, text, true) }

func (f *fakeLive) add(svc string, st jobs.Stream, text string, notLive bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log(svc)
	n := len(l.msgs)
	stamp := fmt.Sprintf("2026-11-26T08:%02d:%02d.%09dZ", n/60%60, n%60, n+1)
	l.msgs = append(l.msgs, fakeMsg{stream: st, payload: stamp + " " + text, notLive: notLive})
	f.changed()
}

// log returns service svc's log, creating it. The caller holds mu.
func (f *fakeLive) log(svc string) *fakeServiceLog {
	l, ok := f.logs[svc]
	if !ok {
		l = &fakeServiceLog{}
		f.logs[svc] = l
	}
	return l
}

// create makes service svc exist, with an empty log.
func (f *fakeLive) create(svc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log(svc)
}

// remove makes ServiceLogs fail for svc from now on.
func (f *fakeLive) remove(svc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log(svc).gone = true
	f.changed()
}

// multiplexed returns svc's whole log as the Engine sends it, both streams.
func (f *fakeLive) multiplexed(svc string) *bytes.Buffer {
	f.mu.Lock()
	defer f.mu.Unlock()
	var buf bytes.Buffer
	for _, m := range f.log(svc).msgs {
		appendFrame(&buf, m)
	}
	return &buf
}

func (f *fakeLive) openStreams() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func (f *fakeLive) callOptions() []client.ServiceLogsOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]client.ServiceLogsOptions(nil), f.calls...)
}

func appendFrame(buf *bytes.Buffer, m fakeMsg) {
	var hdr [8]byte
	hdr[0] = byte(m.stream)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(m.payload)))
	buf.Write(hdr[:])
	buf.WriteString(m.payload)
}

func (f *fakeLive) ServiceLogs(ctx context.Context, svc string, o client.ServiceLogsOptions) (client.ServiceLogsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, o)
	l, ok := f.logs[svc]
	if !ok || l.gone {
		return nil, fmt.Errorf("service %s not found", svc)
	}
	r := &fakeFollow{f: f, svc: svc, ctx: ctx, opts: o}
	if o.Follow {
		f.open++
	}
	return r, nil
}

// fakeFollow is one log stream of fakeLive.
type fakeFollow struct {
	f      *fakeLive
	svc    string
	ctx    context.Context
	opts   client.ServiceLogsOptions
	next   int // index of the next message
	buf    bytes.Buffer
	closed bool
}

func (r *fakeFollow) Read(p []byte) (int, error) {
	for {
		r.f.mu.Lock()
		l := r.f.logs[r.svc]
		for r.buf.Len() == 0 && r.next < len(l.msgs) {
			m := l.msgs[r.next]
			r.next++
			if m.notLive && r.opts.Follow {
				continue
			}
			if (m.stream == jobs.Stdout && r.opts.ShowStdout) || (m.stream == jobs.Stderr && r.opts.ShowStderr) {
				appendFrame(&r.buf, m)
			}
		}
		wake := r.f.wake
		r.f.mu.Unlock()
		if r.buf.Len() > 0 {
			return r.buf.Read(p)
		}
		if !r.opts.Follow {
			return 0, io.EOF
		}
		select {
		case <-wake:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

func (r *fakeFollow) Close() error {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if !r.closed && r.opts.Follow {
		r.f.open--
	}
	r.closed = true
	return nil
}
