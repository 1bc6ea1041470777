package planner

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// walk visits every key once all of its dependencies were visited, in
// parallel where the dependencies allow. It is not cancelled by a failure:
// visit decides what a failure means for dependents (the run records it),
// and ctx cancellation is visit's to observe too, so that every key is
// accounted for. deps must not form a cycle; dependencies outside keys are
// ignored.
func walk(ctx context.Context, keys []string, deps func(string) []string, visit func(ctx context.Context, key string)) {
	done := make(map[string]chan struct{}, len(keys))
	for _, k := range keys {
		done[k] = make(chan struct{})
	}
	var g errgroup.Group
	for _, k := range keys {
		g.Go(func() error {
			defer close(done[k])
			for _, d := range deps(k) {
				if ch, ok := done[d]; ok {
					<-ch
				}
			}
			visit(ctx, k)
			return nil
		})
	}
	_ = g.Wait()
}

// semaphore bounds the provider calls in flight.
type semaphore chan struct{}

func newSemaphore(n int) semaphore { return make(semaphore, max(n, 1)) }

// acquire waits for a slot; it fails only when ctx is done first.
func (s semaphore) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s semaphore) release() { <-s }
