package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the request limits.
const (
	// DefaultRateLimit is the sustained requests per second per token:
	// far above what clients need (a waiting client makes one request
	// every 30 s), far below a flood.
	DefaultRateLimit = 100
	// DefaultRateBurst is how many requests a token may make at once
	// beyond the sustained rate, such as hundreds of waiters starting.
	DefaultRateBurst = 500
	// DefaultMaxStreams is how many events streams, logs and waits one
	// token may have open at once: each holds a connection (a file
	// descriptor) and a goroutine.
	DefaultMaxStreams = 256
)

// maxLimiterKeys bounds the limiters kept at once. Keys are tokens (few) and
// addresses that failed to authenticate (unbounded): past the bound, a new
// address is refused until idle entries are swept.
const maxLimiterKeys = 100_000

// retryAfter is how long a limited client should wait, written as whole
// seconds (at least 1) in Retry-After.
type retryAfter time.Duration

func (d retryAfter) String() string {
	return strconv.FormatInt(int64(math.Ceil(max(time.Duration(d), time.Second).Seconds())), 10)
}

// limiters holds one token bucket per key. A zero rate disables it. It is
// safe for concurrent use.
type limiters struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst int, now func() time.Time) *limiters {
	if burst < 1 {
		burst = 1
	}
	return &limiters{rate: rate.Limit(perSecond), burst: burst, now: now, buckets: make(map[string]*bucket)}
}

// allow takes one request from key's bucket. When the bucket is empty it
// takes nothing and returns false with how long until it holds one.
func (l *limiters) allow(key string) (retryAfter, bool) {
	if l == nil || l.rate <= 0 {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b == nil {
		return retryAfter(l.refill()), false
	}
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return retryAfter(d), false
	}
	return 0, true
}

// refill is how long an empty bucket takes to fill up: a bucket idle that
// long is the same as a new one.
func (l *limiters) refill() time.Duration {
	return time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
}

// bucket returns key's bucket, creating it; nil when the table is full.
// The caller holds mu.
func (l *limiters) bucket(key string, now time.Time) *bucket {
	if now.Sub(l.lastSweep) > time.Minute || len(l.buckets) >= maxLimiterKeys {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimiterKeys {
			return nil
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b
}

// sweep forgets the buckets idle long enough to be full again.
func (l *limiters) sweep(now time.Time) {
	l.lastSweep = now
	idle := l.refill() + time.Second
	for k, b := range l.buckets {
		if now.Sub(b.seen) > idle {
			delete(l.buckets, k)
		}
	}
}

// counters counts what each key holds open, up to max each. A max below 1
// disables it. It is safe for concurrent use.
type counters struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func (c *counters) acquire(key string) bool {
	if c.max < 1 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= c.max {
		return false
	}
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[key]++
	return true
}

// held returns how many key holds now.
func (c *counters) held(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counters) release(key string) {
	if c.max < 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}
