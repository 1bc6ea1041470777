package download

import "testing"

// TestPlanChunks: parallel chunks cover the gaps exactly, in order, start
// at ChunkSize and shrink towards the end so that the last round of
// connections holds little: the bytes the in-order hasher still has to
// digest when the last byte arrives are about one round of chunks.
func TestPlanChunks(t *testing.T) {
	const mib = 1 << 20
	cases := map[string]struct {
		gaps        []span
		conns       int
		chunk, min  int64
		maxCount    int
		lastRoundLE int64 // bytes in the last conns chunks
	}{
		"2 GB over 8":       {gaps: []span{{0, 2e9}}, conns: 8, chunk: 2e9 / 32, min: 8 * mib, maxCount: 80, lastRoundLE: 64 * mib},
		"14 GB over 8":      {gaps: []span{{0, 14e9}}, conns: 8, chunk: 128 * mib, min: 8 * mib, maxCount: 180, lastRoundLE: 64 * mib},
		"small test chunks": {gaps: []span{{0, mib}}, conns: 4, chunk: 128 << 10, min: 128 << 10, maxCount: 8, lastRoundLE: 512 << 10},
		"resumed gaps":      {gaps: []span{{0, 10 * mib}, {300 * mib, 500 * mib}}, conns: 8, chunk: 64 * mib, min: 8 * mib, maxCount: 40, lastRoundLE: 64 * mib},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			chunks := planChunks(tc.gaps, tc.chunk, tc.min, tc.conns)
			var want, got spanSet
			for _, g := range tc.gaps {
				want = want.add(g.Start, g.End)
			}
			for i, c := range chunks {
				if c.End <= c.Start || c.End-c.Start > tc.chunk || (i > 0 && c.Start < chunks[i-1].End) {
					t.Fatalf("chunk %d %+v (max %d) after %+v", i, c, tc.chunk, chunks[max(i-1, 0)])
				}
				got = got.add(c.Start, c.End)
			}
			if len(got) != len(want) || got.bytes() != want.bytes() || got[0] != want[0] {
				t.Fatalf("chunks cover %v, want %v", got, want)
			}
			if len(chunks) > tc.maxCount {
				t.Errorf("%d chunks, want at most %d", len(chunks), tc.maxCount)
			}
			if c := chunks[0]; c.End-c.Start != min(tc.chunk, tc.gaps[0].End-tc.gaps[0].Start) {
				t.Errorf("first chunk %d bytes, want %d", c.End-c.Start, tc.chunk)
			}
			var last int64
			for _, c := range chunks[max(len(chunks)-tc.conns, 0):] {
				last += c.End - c.Start
			}
			if last > tc.lastRoundLE {
				t.Errorf("the last round holds %d bytes, want at most %d", last, tc.lastRoundLE)
			}
		})
	}
}
