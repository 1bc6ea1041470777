package workflow

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func mp4Box(typ string, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := make([]byte, 8, 8+len(b))
	binary.BigEndian.PutUint32(out, uint32(8+len(b)))
	copy(out[4:], typ)
	return append(out, b...)
}

func mp4(brand string, tracks ...[]byte) []byte {
	return append(mp4Box("ftyp", []byte(brand), make([]byte, 4)), mp4Box("moov", tracks...)...)
}

func track(handler string, samples uint32) []byte {
	hdlr := append(make([]byte, 8), []byte(handler)...)
	hdlr = append(hdlr, make([]byte, 12)...)
	stsz := make([]byte, 12)
	binary.BigEndian.PutUint32(stsz[8:], samples)
	return mp4Box("trak", mp4Box("mdia", mp4Box("hdlr", hdlr), mp4Box("minf", mp4Box("stbl", mp4Box("stsz", stsz)))))
}

func animatedGIF(t *testing.T, frames int) []byte {
	t.Helper()
	g := &gif.GIF{}
	pal := color.Palette{color.Black, color.White}
	for i := 0; i < frames; i++ {
		g.Image = append(g.Image, image.NewPaletted(image.Rect(0, 0, 4, 4), pal))
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func stillPNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// apng inserts an acTL chunk (num_frames) after IHDR.
func apng(t *testing.T, frames uint32) []byte {
	p := stillPNG(t)
	actl := make([]byte, 20)
	binary.BigEndian.PutUint32(actl, 8)
	copy(actl[4:], "acTL")
	binary.BigEndian.PutUint32(actl[8:], frames)
	return append(append(append([]byte{}, p[:33]...), actl...), p[33:]...)
}

func webpChunks(chunks ...[]byte) []byte {
	body := append([]byte("WEBP"), bytes.Join(chunks, nil)...)
	h := []byte("RIFF\x00\x00\x00\x00")
	binary.LittleEndian.PutUint32(h[4:], uint32(len(body)))
	return append(h, body...)
}

func riffChunk(typ string, data []byte) []byte {
	h := make([]byte, 8)
	copy(h, typ)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(data)))
	out := append(h, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func TestInspect(t *testing.T) {
	vp8x := make([]byte, 10)
	vp8x[0] = 0x02
	for name, c := range map[string]struct {
		data []byte
		want Media
	}{
		"png":           {stillPNG(t), Media{KindImage, "png", 1}},
		"apng":          {apng(t, 12), Media{KindAnimated, "png", 12}},
		"gif still":     {animatedGIF(t, 1), Media{KindImage, "gif", 1}},
		"gif animated":  {animatedGIF(t, 7), Media{KindAnimated, "gif", 7}},
		"webp animated": {webpChunks(riffChunk("VP8X", vp8x), riffChunk("ANIM", make([]byte, 6)), riffChunk("ANMF", make([]byte, 17)), riffChunk("ANMF", make([]byte, 17)), riffChunk("ANMF", make([]byte, 17))), Media{KindAnimated, "webp", 3}},
		"webp still":    {webpChunks(riffChunk("VP8L", make([]byte, 9))), Media{KindImage, "webp", 1}},
		"jpeg":          {[]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10}, Media{KindImage, "jpeg", 1}},
		"mp4":           {mp4("isom", track("soun", 400), track("vide", 81)), Media{KindVideo, "mp4", 81}},
		"mov":           {mp4("qt  ", track("vide", 24)), Media{KindVideo, "mov", 24}},
		"m4a":           {mp4("M4A ", track("soun", 90)), Media{KindAudio, "mp4", 0}},
		"webm":          {append([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84}, "webm"...), Media{KindVideo, "webm", 0}},
		"wav":           {append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 20)...), Media{KindAudio, "wav", 0}},
		"flac":          {[]byte("fLaC\x00\x00\x00\x22"), Media{KindAudio, "flac", 0}},
		"text":          {[]byte("hello"), Media{Kind: KindUnknown}},
	} {
		got := Inspect(bytes.NewReader(c.data), int64(len(c.data)))
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", name, got, c.want)
		}
	}
}

func TestExpect(t *testing.T) {
	files := []File{
		{Bytes: 600, Media: Media{KindImage, "png", 1}},
		{Bytes: 610, Media: Media{KindAnimated, "webp", 6}},
		{Bytes: 200000, Media: Media{KindVideo, "mp4", 81}},
		{Bytes: 9000, Media: Media{KindVideo, "webm", 0}},
	}
	for name, c := range map[string]struct {
		e    Expect
		fail string
	}{
		"any":              {Expect{}, ""},
		"video":            {Expect{Kind: KindVideo, MinCount: 2}, ""},
		"video big":        {Expect{Kind: KindVideo, MinBytes: 100000}, ""},
		"video frames":     {Expect{Kind: KindVideo, Frames: 81}, ""},
		"two big videos":   {Expect{Kind: KindVideo, MinCount: 2, MinBytes: 100000}, "expected at least 2 video outputs of at least 100000 bytes; the run wrote 1 animated (webp, 6 frames, 610 bytes), 1 image (png, 600 bytes), 1 video (mp4, 81 frames, 200000 bytes), 1 video (webm, frame count unknown, 9000 bytes)"},
		"audio":            {Expect{Kind: KindAudio}, "expected at least 1 audio output;"},
		"animated 5 frame": {Expect{Kind: KindAnimated, Frames: 5}, "with 5 frames"},
	} {
		err := c.e.Check(files)
		switch {
		case c.fail == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.fail != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.fail))):
			t.Errorf("%s: %v, want %q", name, err, c.fail)
		}
	}
	if err := (Expect{}).Check(nil); err == nil || err.Error() != "expected at least 1 output file; the run wrote no output files" {
		t.Errorf("no files: %v", err)
	}
}

// TestInspectRealFiles reads minimal files that real encoders wrote
// (testdata/media/make.sh: ffmpeg with libx264, libvpx, libwebp, flac…),
// one per format ComfyUI's save nodes produce; the frame counts are
// ffprobe's -count_frames for the same files.
func TestInspectRealFiles(t *testing.T) {
	for name, want := range map[string]Media{
		"still.png":     {KindImage, "png", 1},
		"animated.png":  {KindAnimated, "png", 5},
		"still.jpg":     {KindImage, "jpeg", 1},
		"still.webp":    {KindImage, "webp", 1},
		"animated.webp": {KindAnimated, "webp", 5},
		"still.gif":     {KindImage, "gif", 1},
		"animated.gif":  {KindAnimated, "gif", 5},
		"video.mp4":     {KindVideo, "mp4", 5},
		"faststart.mp4": {KindVideo, "mp4", 5},
		"video.mov":     {KindVideo, "mov", 5},
		"video.webm":    {KindVideo, "webm", 5},
		"av.webm":       {KindVideo, "webm", 5},
		"piped.webm":    {KindVideo, "webm", 5},
		"video.mkv":     {KindVideo, "mkv", 5},
		"sound.wav":     {KindAudio, "wav", 0},
		"sound.flac":    {KindAudio, "flac", 0},
		"sound.mp3":     {KindAudio, "mp3", 0},
		"sound.ogg":     {KindAudio, "ogg", 0},
		"sound.m4a":     {KindAudio, "mp4", 0},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := InspectFile(filepath.Join("testdata", "media", name))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Inspect = %+v, want %+v", got, want)
			}
		})
	}
}

// TestInspectTruncated cuts each real file short: Inspect must not fail or
// loop, and a cut container never claims more frames than the whole file.
func TestInspectTruncated(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "media"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".sh" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "media", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		whole := Inspect(bytes.NewReader(b), int64(len(b)))
		for _, n := range []int{0, 3, 11, 40, len(b) / 3, len(b) / 2, len(b) - 1} {
			got := Inspect(bytes.NewReader(b[:n]), int64(n))
			if got.Frames > whole.Frames {
				t.Errorf("%s cut at %d: %+v, whole file %+v", e.Name(), n, got, whole)
			}
		}
	}
}

// ebml encodes one element: id (with its marker), then the body's size as
// a vint of 8 bytes, or the unknown size when size < 0.
func ebml(id uint32, size int, body ...[]byte) []byte {
	var out []byte
	for shift := 24; shift >= 0; shift -= 8 {
		if b := byte(id >> shift); b != 0 || len(out) > 0 {
			out = append(out, b)
		}
	}
	b := bytes.Join(body, nil)
	if size == 0 {
		size = len(b)
	}
	sz := make([]byte, 8)
	if size < 0 {
		sz = []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	} else {
		binary.BigEndian.PutUint64(sz, uint64(size))
		sz[0] = 0x01
	}
	return append(append(out, sz...), b...)
}

// TestInspectMatroskaShapes covers what ffmpeg does not write by default:
// Clusters of unknown size (live streams), laced blocks, blocks inside
// BlockGroups, the video track not being track 1, and an audio-only file.
func TestInspectMatroskaShapes(t *testing.T) {
	header := ebml(0x1A45DFA3, 0, ebml(0x4282, 0, []byte("webm")))
	tracks := func(entries ...[2]byte) []byte {
		var es [][]byte
		for _, e := range entries {
			es = append(es, ebml(0xAE, 0, ebml(0xD7, 0, []byte{e[0]}), ebml(0x83, 0, []byte{e[1]})))
		}
		return ebml(0x1654AE6B, 0, es...)
	}
	simple := func(track byte, laced int) []byte {
		if laced > 0 {
			return ebml(0xA3, 0, []byte{0x80 | track, 0, 0, 0x02, byte(laced - 1), 0xAA, 0xBB})
		}
		return ebml(0xA3, 0, []byte{0x80 | track, 0, 0, 0x80, 0xAA})
	}
	group := func(track byte) []byte { return ebml(0xA0, 0, ebml(0xA1, 0, []byte{0x80 | track, 0, 0, 0, 0xAA})) }
	timecode := ebml(0xE7, 0, []byte{0})
	for name, c := range map[string]struct {
		segment [][]byte
		want    Media
	}{
		"unknown-size clusters": {[][]byte{tracks([2]byte{1, 1}),
			ebml(0x1F43B675, -1, timecode, simple(1, 0), simple(1, 0)),
			ebml(0x1F43B675, -1, timecode, simple(1, 0)),
			ebml(0x1C53BB6B, 0, []byte{0})}, Media{KindVideo, "webm", 3}},
		"laced and grouped": {[][]byte{tracks([2]byte{1, 2}, [2]byte{2, 1}),
			ebml(0x1F43B675, 0, timecode, simple(1, 4), simple(2, 0), group(2), simple(2, 3))}, Media{KindVideo, "webm", 5}},
		"audio only": {[][]byte{tracks([2]byte{1, 2}), ebml(0x1F43B675, 0, timecode, simple(1, 0))}, Media{KindAudio, "webm", 0}},
	} {
		data := append(append([]byte{}, header...), ebml(0x18538067, -1, c.segment...)...)
		if got := Inspect(bytes.NewReader(data), int64(len(data))); got != c.want {
			t.Errorf("%s: %+v, want %+v", name, got, c.want)
		}
	}
}
