package workflow

import (
	"bytes"
	"io"
)

// Matroska/WebM element ids (EBML, with their length markers) that
// inspectMatroska reads or steps over.
const (
	ebmlHeader     = 0x1A45DFA3
	ebmlDocType    = 0x4282
	mkvSegment     = 0x18538067
	mkvTracks      = 0x1654AE6B
	mkvTrackEntry  = 0xAE
	mkvTrackNumber = 0xD7
	mkvTrackType   = 0x83
	mkvCluster     = 0x1F43B675
	mkvSimpleBlock = 0xA3
	mkvBlockGroup  = 0xA0
	mkvBlock       = 0xA1
	mkvTrackVideo  = 1
	mkvTrackAudio  = 2
)

// segmentLevel are the ids that may follow a Cluster inside a Segment: one
// of them ends a Cluster written with an unknown size (a live stream).
var segmentLevel = map[uint64]bool{
	0x114D9B74: true, 0x1549A966: true, mkvTracks: true, mkvCluster: true,
	0x1C53BB6B: true, 0x1941A469: true, 0x1043A770: true, 0x1254C367: true,
}

// ebmlElem is one element: its id, where its body starts and ends (end
// is the parent's end when the size is unknown).
type ebmlElem struct {
	id          uint64
	body, end   int64
	unknownSize bool
}

// readVint reads an EBML variable-length integer at off. keepMarker keeps
// the length marker bit (ids); sizes drop it. n is its length; all-ones
// sizes (unknown) set unknown.
func readVint(r io.ReaderAt, off int64, keepMarker bool) (v uint64, n int, unknown bool, ok bool) {
	var b [8]byte
	if _, err := r.ReadAt(b[:1], off); err != nil {
		return 0, 0, false, false
	}
	first := b[0]
	if first == 0 {
		return 0, 0, false, false
	}
	n = 1
	for mask := byte(0x80); first&mask == 0; mask >>= 1 {
		n++
	}
	if keepMarker && n > 4 {
		return 0, 0, false, false
	}
	if n > 1 {
		if _, err := r.ReadAt(b[1:n], off+1); err != nil {
			return 0, 0, false, false
		}
	}
	allOnes := true
	if keepMarker {
		v = uint64(first)
	} else {
		v = uint64(first & (0xFF >> n))
		allOnes = v == uint64(0xFF>>n)
	}
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
		allOnes = allOnes && b[i] == 0xFF
	}
	return v, n, !keepMarker && allOnes, true
}

// readElem reads the element header at off, within a parent ending at end.
func readElem(r io.ReaderAt, off, end int64) (ebmlElem, bool) {
	id, n, _, ok := readVint(r, off, true)
	if !ok {
		return ebmlElem{}, false
	}
	size, m, unknown, ok := readVint(r, off+int64(n), false)
	if !ok {
		return ebmlElem{}, false
	}
	e := ebmlElem{id: id, body: off + int64(n+m), unknownSize: unknown}
	switch {
	case unknown:
		e.end = end
	case size > uint64(end-e.body):
		// A file cut short: read what is there.
		e.end = end
	default:
		e.end = e.body + int64(size)
	}
	return e, e.body <= end
}

// readUint reads an element body as a big-endian unsigned integer.
func readUint(r io.ReaderAt, e ebmlElem) uint64 {
	n := e.end - e.body
	if n <= 0 || n > 8 {
		return 0
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, e.body); err != nil {
		return 0
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// inspectMatroska reads a WebM or Matroska file: its DocType, its track
// types, and the frames of its first video track, counted from the blocks
// of every Cluster (a laced block holds several). Only element headers and
// the first bytes of each block are read, so a long video costs one small
// read per frame.
func inspectMatroska(r io.ReaderAt, size int64) Media {
	m := Media{Kind: KindVideo, Format: "mkv"}
	hdr, ok := readElem(r, 0, size)
	if !ok || hdr.id != ebmlHeader {
		return m
	}
	for off := hdr.body; off < hdr.end; {
		e, ok := readElem(r, off, hdr.end)
		if !ok || e.end <= off {
			break
		}
		if e.id == ebmlDocType {
			b := make([]byte, min(e.end-e.body, 16))
			if _, err := r.ReadAt(b, e.body); err == nil && string(bytes.TrimRight(b, "\x00")) == "webm" {
				m.Format = "webm"
			}
		}
		off = e.end
	}
	seg, ok := readElem(r, hdr.end, size)
	if !ok || seg.id != mkvSegment {
		return m
	}
	types := map[uint64]uint64{} // track number → type
	blocks := map[uint64]int{}   // track number → frames
	for off := seg.body; off < seg.end; {
		e, ok := readElem(r, off, seg.end)
		if !ok || e.body <= off {
			break
		}
		switch e.id {
		case mkvTracks:
			readTracks(r, e, types)
		case mkvCluster:
			e.end = countBlocks(r, e, blocks)
		}
		if e.end <= off {
			break
		}
		off = e.end
	}
	video, audio := false, false
	for _, typ := range types {
		video = video || typ == mkvTrackVideo
		audio = audio || typ == mkvTrackAudio
	}
	switch {
	case video:
		m.Frames = blocks[firstVideo(types)]
	case audio:
		m.Kind = KindAudio
	}
	return m
}

// firstVideo is the lowest track number of a video track.
func firstVideo(types map[uint64]uint64) uint64 {
	first := ^uint64(0)
	for num, typ := range types {
		if typ == mkvTrackVideo && num < first {
			first = num
		}
	}
	return first
}

func readTracks(r io.ReaderAt, tracks ebmlElem, types map[uint64]uint64) {
	for off := tracks.body; off < tracks.end; {
		te, ok := readElem(r, off, tracks.end)
		if !ok || te.end <= off {
			return
		}
		if te.id == mkvTrackEntry {
			var num, typ uint64
			for o := te.body; o < te.end; {
				f, ok := readElem(r, o, te.end)
				if !ok || f.end <= o {
					break
				}
				switch f.id {
				case mkvTrackNumber:
					num = readUint(r, f)
				case mkvTrackType:
					typ = readUint(r, f)
				}
				o = f.end
			}
			if num != 0 {
				types[num] = typ
			}
		}
		off = te.end
	}
}

// countBlocks adds the frames of a Cluster's blocks to blocks, per track,
// and returns where the Cluster ends (for one of unknown size, where the
// next Segment-level element starts).
func countBlocks(r io.ReaderAt, cluster ebmlElem, blocks map[uint64]int) int64 {
	off := cluster.body
	for off < cluster.end {
		e, ok := readElem(r, off, cluster.end)
		if !ok || e.body <= off {
			return cluster.end
		}
		if cluster.unknownSize && segmentLevel[e.id] {
			return off
		}
		switch e.id {
		case mkvSimpleBlock:
			countBlock(r, e, blocks)
		case mkvBlockGroup:
			for o := e.body; o < e.end; {
				b, ok := readElem(r, o, e.end)
				if !ok || b.end <= o {
					break
				}
				if b.id == mkvBlock {
					countBlock(r, b, blocks)
				}
				o = b.end
			}
		}
		if e.end <= off {
			return cluster.end
		}
		off = e.end
	}
	return cluster.end
}

// countBlock reads a block's track number and lacing: a laced block holds
// (next byte + 1) frames.
func countBlock(r io.ReaderAt, b ebmlElem, blocks map[uint64]int) {
	track, n, _, ok := readVint(r, b.body, false)
	if !ok {
		return
	}
	flags := make([]byte, 2)
	got, _ := r.ReadAt(flags, b.body+int64(n)+2)
	if got < 1 || b.body+int64(n)+3 > b.end {
		return // cut short: not a whole frame
	}
	frames := 1
	if flags[0]&0x06 != 0 && got == 2 {
		frames = int(flags[1]) + 1
	}
	blocks[track] += frames
}
