package workflow

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
)

// Kinds of output files, as expect.kind names them.
const (
	KindImage    = "image"    // a still: PNG, JPEG, WebP, one-frame GIF
	KindAnimated = "animated" // animated WebP, GIF or APNG
	KindVideo    = "video"    // MP4/MOV, WebM/Matroska
	KindAudio    = "audio"    // WAV, FLAC, MP3, Ogg
	KindUnknown  = "unknown"
)

// Media is what a file's bytes say it is.
type Media struct {
	Kind   string
	Format string // png, jpeg, webp, gif, mp4, mov, webm, mkv, wav, flac, mp3, ogg
	// Frames is the frame count of the (first) video track or animation:
	// animated WebP, GIF and APNG frames, MP4/MOV samples, WebM/Matroska
	// blocks; 1 for stills; 0 for audio and when a file does not tell.
	Frames int
}

// InspectFile identifies a file by its magic bytes.
func InspectFile(path string) (Media, error) {
	f, err := os.Open(path)
	if err != nil {
		return Media{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Media{}, err
	}
	return Inspect(f, st.Size()), nil
}

// Inspect identifies the content of r (size bytes) by its magic bytes.
func Inspect(r io.ReaderAt, size int64) Media {
	head := make([]byte, 64)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return inspectPNG(r, size)
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return inspectWebP(r, size)
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		return Media{Kind: KindAudio, Format: "wav"}
	case bytes.HasPrefix(head, []byte("GIF87a")) || bytes.HasPrefix(head, []byte("GIF89a")):
		return inspectGIF(r, size)
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return Media{Kind: KindImage, Format: "jpeg", Frames: 1}
	case len(head) >= 8 && string(head[4:8]) == "ftyp":
		return inspectMP4(r, size, head)
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return inspectMatroska(r, size)
	case bytes.HasPrefix(head, []byte("fLaC")):
		return Media{Kind: KindAudio, Format: "flac"}
	case bytes.HasPrefix(head, []byte("OggS")):
		return Media{Kind: KindAudio, Format: "ogg"}
	case bytes.HasPrefix(head, []byte("ID3")) || len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		return Media{Kind: KindAudio, Format: "mp3"}
	}
	return Media{Kind: KindUnknown}
}

// inspectPNG looks for an acTL chunk (APNG) before the image data.
func inspectPNG(r io.ReaderAt, size int64) Media {
	off := int64(8)
	hdr := make([]byte, 8)
	for off+8 <= size {
		if _, err := r.ReadAt(hdr, off); err != nil {
			break
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		if typ == "acTL" && n >= 8 {
			b := make([]byte, 4)
			if _, err := r.ReadAt(b, off+8); err == nil {
				if frames := int(binary.BigEndian.Uint32(b)); frames > 1 {
					return Media{Kind: KindAnimated, Format: "png", Frames: frames}
				}
			}
		}
		if typ == "IDAT" || typ == "IEND" {
			break
		}
		off += 12 + n
	}
	return Media{Kind: KindImage, Format: "png", Frames: 1}
}

// inspectWebP reads the VP8X animation flag and counts ANMF chunks.
func inspectWebP(r io.ReaderAt, size int64) Media {
	off := int64(12)
	hdr := make([]byte, 8)
	animated, frames := false, 0
	for off+8 <= size {
		if _, err := r.ReadAt(hdr, off); err != nil {
			break
		}
		n := int64(binary.LittleEndian.Uint32(hdr[4:8]))
		switch string(hdr[:4]) {
		case "VP8X":
			flags := make([]byte, 1)
			if _, err := r.ReadAt(flags, off+8); err == nil && flags[0]&0x02 != 0 {
				animated = true
			}
		case "ANMF":
			frames++
		}
		off += 8 + n + n%2
	}
	if animated {
		return Media{Kind: KindAnimated, Format: "webp", Frames: frames}
	}
	return Media{Kind: KindImage, Format: "webp", Frames: 1}
}

// inspectGIF counts image descriptors by walking the block structure.
func inspectGIF(r io.ReaderAt, size int64) Media {
	sr := io.NewSectionReader(r, 0, size)
	b := make([]byte, 13)
	if _, err := io.ReadFull(sr, b); err != nil {
		return Media{Kind: KindImage, Format: "gif"}
	}
	if b[10]&0x80 != 0 {
		sr.Seek(3*(1<<(b[10]&7+1)), io.SeekCurrent)
	}
	frames := 0
	one := make([]byte, 1)
	skipSubBlocks := func() bool {
		for {
			if _, err := io.ReadFull(sr, one); err != nil {
				return false
			}
			if one[0] == 0 {
				return true
			}
			if _, err := sr.Seek(int64(one[0]), io.SeekCurrent); err != nil {
				return false
			}
		}
	}
loop:
	for {
		if _, err := io.ReadFull(sr, one); err != nil {
			break
		}
		switch one[0] {
		case 0x21: // extension: label, then sub-blocks
			if _, err := io.ReadFull(sr, one); err != nil || !skipSubBlocks() {
				break loop
			}
		case 0x2C: // image descriptor
			d := make([]byte, 9)
			if _, err := io.ReadFull(sr, d); err != nil {
				break loop
			}
			if d[8]&0x80 != 0 {
				sr.Seek(3*(1<<(d[8]&7+1)), io.SeekCurrent)
			}
			if _, err := io.ReadFull(sr, one); err != nil || !skipSubBlocks() { // LZW code size, data
				break loop
			}
			frames++
		default: // 0x3B trailer, or garbage
			break loop
		}
	}
	if frames > 1 {
		return Media{Kind: KindAnimated, Format: "gif", Frames: frames}
	}
	return Media{Kind: KindImage, Format: "gif", Frames: frames}
}

// inspectMP4 finds the video track (hdlr "vide") and reads its sample
// count from stsz; a file with only a sound track is audio.
func inspectMP4(r io.ReaderAt, size int64, head []byte) Media {
	format := "mp4"
	if string(head[8:12]) == "qt  " {
		format = "mov"
	}
	m := Media{Kind: KindVideo, Format: format}
	moov, ok := findBox(r, 0, size, "moov")
	if !ok {
		return m
	}
	sawVideo, sawAudio := false, false
	forEachBox(r, moov.body, moov.end, func(b box) {
		if b.typ != "trak" {
			return
		}
		mdia, ok := findBox(r, b.body, b.end, "mdia")
		if !ok {
			return
		}
		hdlr, ok := findBox(r, mdia.body, mdia.end, "hdlr")
		if !ok {
			return
		}
		h := make([]byte, 4)
		if _, err := r.ReadAt(h, hdlr.body+8); err != nil {
			return
		}
		switch string(h) {
		case "soun":
			sawAudio = true
			return
		case "vide":
			sawVideo = true
		default:
			return
		}
		minf, ok := findBox(r, mdia.body, mdia.end, "minf")
		if !ok {
			return
		}
		stbl, ok := findBox(r, minf.body, minf.end, "stbl")
		if !ok {
			return
		}
		if stsz, ok := findBox(r, stbl.body, stbl.end, "stsz"); ok {
			c := make([]byte, 4)
			if _, err := r.ReadAt(c, stsz.body+8); err == nil && m.Frames == 0 {
				m.Frames = int(binary.BigEndian.Uint32(c))
			}
		}
	})
	if !sawVideo && sawAudio {
		m.Kind = KindAudio
	}
	return m
}

type box struct {
	typ       string
	body, end int64
}

// forEachBox walks the ISO BMFF boxes in [off, end).
func forEachBox(r io.ReaderAt, off, end int64, f func(box)) {
	hdr := make([]byte, 16)
	for off+8 <= end {
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		body := off + 8
		switch size {
		case 0:
			size = end - off
		case 1:
			if _, err := r.ReadAt(hdr[8:16], off+8); err != nil {
				return
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
			body = off + 16
		}
		if size < body-off || off+size > end {
			return
		}
		f(box{typ: typ, body: body, end: off + size})
		off += size
	}
}

func findBox(r io.ReaderAt, off, end int64, typ string) (box, bool) {
	var found box
	ok := false
	forEachBox(r, off, end, func(b box) {
		if !ok && b.typ == typ {
			found, ok = b, true
		}
	})
	return found, ok
}
