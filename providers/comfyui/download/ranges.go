package download

import "sort"

// span is the half-open byte range [Start, End).
type span struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// spanSet is a sorted set of disjoint, non-adjacent spans.
type spanSet []span

// add inserts [start, end), merging with overlapping or adjacent spans.
func (s spanSet) add(start, end int64) spanSet {
	if end <= start {
		return s
	}
	i := sort.Search(len(s), func(i int) bool { return s[i].End >= start })
	j := i
	for j < len(s) && s[j].Start <= end {
		start = min(start, s[j].Start)
		end = max(end, s[j].End)
		j++
	}
	if i == j {
		s = append(s, span{})
		copy(s[i+1:], s[i:])
		s[i] = span{start, end}
		return s
	}
	s[i] = span{start, end}
	return append(s[:i+1], s[j:]...)
}

// prefix is the end of the span starting at 0 (0 when there is none).
func (s spanSet) prefix() int64 {
	if len(s) > 0 && s[0].Start == 0 {
		return s[0].End
	}
	return 0
}

// bytes is the number of bytes covered.
func (s spanSet) bytes() int64 {
	var n int64
	for _, sp := range s {
		n += sp.End - sp.Start
	}
	return n
}

// missing lists the gaps of s within [0, total).
func (s spanSet) missing(total int64) []span {
	var out []span
	var at int64
	for _, sp := range s {
		if sp.Start >= total {
			break
		}
		if sp.Start > at {
			out = append(out, span{at, sp.Start})
		}
		at = max(at, sp.End)
	}
	if at < total {
		out = append(out, span{at, total})
	}
	return out
}

// popAt removes and returns the span starting exactly at off.
func (s spanSet) popAt(off int64) (spanSet, span, bool) {
	if len(s) > 0 && s[0].Start == off {
		return s[1:], s[0], true
	}
	return s, span{}, false
}

func (s spanSet) clone() spanSet { return append(spanSet(nil), s...) }
