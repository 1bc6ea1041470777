package download

import (
	"sync"
	"time"
)

// Progress is one report of a fetch or a re-hash in flight.
type Progress struct {
	// Phase is "download", "copy" (from a file: source) or "verify"
	// (re-hashing a file on disk).
	Phase string
	// Done counts bytes on disk (including those a resumed download
	// already had); Total is -1 when unknown.
	Done, Total int64
	// Resumed is the part of Done found in the partial file at the start.
	Resumed int64
	// Rate is bytes per second over the last few seconds.
	Rate float64
}

// ETA is the time left at the current rate; 0 when unknown.
func (p Progress) ETA() time.Duration {
	if p.Total < 0 || p.Rate <= 0 || p.Done >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
}

// meter measures a rate over a sliding window of samples.
type meter struct {
	mu      sync.Mutex
	window  time.Duration
	samples []sample
}

type sample struct {
	at time.Time
	n  int64
}

func newMeter(window time.Duration) *meter { return &meter{window: window} }

// rate records that n bytes are done at now and returns bytes per second
// over the window.
func (m *meter) rate(now time.Time, n int64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, sample{now, n})
	i := 0
	for i < len(m.samples)-2 && now.Sub(m.samples[i+1].at) >= m.window {
		i++
	}
	m.samples = m.samples[i:]
	first := m.samples[0]
	dt := now.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(n-first.n) / dt
}
