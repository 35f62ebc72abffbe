package jobs

import "sync"

// Hub tells waiters that a job changed. A waiter asks Changed(id) for a
// channel, re-reads the job, and then waits on the channel, which is closed
// at the next Notify(id). No waiter polls the store; a Notify costs one map
// lookup whatever the number of waiters.
//
// The zero Hub is ready to use and is safe for concurrent use.
type Hub struct {
	mu    sync.Mutex
	chans map[string]chan struct{}
}

// Changed returns a channel that is closed at the next Notify(id).
func (h *Hub) Changed(id string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.chans == nil {
		h.chans = make(map[string]chan struct{})
	}
	ch, ok := h.chans[id]
	if !ok {
		ch = make(chan struct{})
		h.chans[id] = ch
	}
	return ch
}

// Notify wakes everyone waiting on Changed(id).
func (h *Hub) Notify(id string) {
	h.mu.Lock()
	ch, ok := h.chans[id]
	delete(h.chans, id)
	h.mu.Unlock()
	if ok {
		close(ch)
	}
}
