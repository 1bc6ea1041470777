package comfytest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
)

// images is what the fake's IMAGE sockets carry: a batch of solid-colour
// frames, one colour each. Solid colours keep the encoders small while the
// files stay real.
type images struct {
	w, h   int
	frames [][3]uint8
}

func solid(w, h, n int, rgb [3]uint8) images {
	im := images{w: w, h: h}
	for i := 0; i < n; i++ {
		im.frames = append(im.frames, rgb)
	}
	return im
}

// encodePNG writes one frame as a PNG with a tEXt "prompt" chunk, as
// ComfyUI's SaveImage does, so file sizes look like the real server's.
func encodePNG(w, h int, rgb [3]uint8, prompt []byte) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	c := color.NRGBA{rgb[0], rgb[1], rgb[2], 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	// The 8-byte signature and the 25-byte IHDR chunk come first.
	const afterIHDR = 8 + 25
	text := append([]byte("prompt\x00"), prompt...)
	var chunk bytes.Buffer
	_ = binary.Write(&chunk, binary.BigEndian, uint32(len(text)))
	chunk.WriteString("tEXt")
	chunk.Write(text)
	_ = binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("tEXt"), text...)))
	out := make([]byte, 0, len(b)+chunk.Len())
	out = append(out, b[:afterIHDR]...)
	out = append(out, chunk.Bytes()...)
	out = append(out, b[afterIHDR:]...)
	return out, nil
}

// encodeAnimatedWebP writes the batch as ComfyUI's SaveAnimatedWEBP does
// through libwebp's animation encoder, which merges identical consecutive
// frames (adding up their durations) and writes a single remaining frame
// as a still image: VP8X, then ANIM and one ANMF per distinct frame (each
// a lossless VP8L bitstream) or the one VP8L, then an EXIF chunk with the
// prompt. fps sets the frame duration.
func encodeAnimatedWebP(im images, fps float64, prompt []byte) []byte {
	if fps <= 0 {
		fps = 6
	}
	dur := int(1000/fps + 0.5)
	type run struct {
		rgb [3]uint8
		dur int
	}
	var runs []run
	for _, c := range im.frames {
		if n := len(runs); n > 0 && runs[n-1].rgb == c {
			runs[n-1].dur += dur
			continue
		}
		runs = append(runs, run{c, dur})
	}
	var body bytes.Buffer
	body.WriteString("WEBP")

	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 // EXIF
	if len(runs) > 1 {
		vp8x[0] |= 0x02 // animation
	}
	put24(vp8x[4:], im.w-1)
	put24(vp8x[7:], im.h-1)
	writeChunk(&body, "VP8X", vp8x)

	if len(runs) > 1 {
		anim := make([]byte, 6) // background 0, loop forever
		writeChunk(&body, "ANIM", anim)
		for _, r := range runs {
			var f bytes.Buffer
			hdr := make([]byte, 16)
			put24(hdr[6:], im.w-1)
			put24(hdr[9:], im.h-1)
			put24(hdr[12:], r.dur)
			hdr[15] = 0x02 // do not blend
			f.Write(hdr)
			writeChunk(&f, "VP8L", vp8lSolid(im.w, im.h, r.rgb))
			writeChunk(&body, "ANMF", f.Bytes())
		}
	} else if len(runs) == 1 {
		writeChunk(&body, "VP8L", vp8lSolid(im.w, im.h, runs[0].rgb))
	}
	writeChunk(&body, "EXIF", exifText(prompt))
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

// exifText is a little-endian TIFF header with one ASCII tag holding
// "Prompt:" and the prompt, as ComfyUI stores it (tag 0x0110, Model).
func exifText(prompt []byte) []byte {
	val := append([]byte("Prompt:"), prompt...)
	val = append(val, 0)
	b := []byte("II*\x00\x08\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)      // one entry
	b = binary.LittleEndian.AppendUint16(b, 0x0110) // Model
	b = binary.LittleEndian.AppendUint16(b, 2)      // ASCII
	b = binary.LittleEndian.AppendUint32(b, uint32(len(val)))
	b = binary.LittleEndian.AppendUint32(b, 26) // value offset: after this IFD
	b = binary.LittleEndian.AppendUint32(b, 0)  // no next IFD
	return append(b, val...)
}

func put24(b []byte, v int) {
	b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16)
}

func writeChunk(w *bytes.Buffer, fourcc string, data []byte) {
	w.WriteString(fourcc)
	_ = binary.Write(w, binary.LittleEndian, uint32(len(data)))
	w.Write(data)
	if len(data)%2 == 1 {
		w.WriteByte(0)
	}
}

// vp8lSolid encodes a w×h opaque image of one colour as a VP8L bitstream.
// Each of the five prefix codes is a "simple" code with a single symbol,
// which a decoder reads with zero bits, so the pixels take no space.
func vp8lSolid(w, h int, rgb [3]uint8) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1)                                                // alpha_is_used
	bw.write(0, 3)                                                // version
	bw.write(0, 1)                                                // no transform
	bw.write(0, 1)                                                // no colour cache
	bw.write(0, 1)                                                // no meta prefix codes
	for _, sym := range []uint8{rgb[1], rgb[0], rgb[2], 255, 0} { // green, red, blue, alpha, distance
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // eight-bit symbol
		bw.write(uint32(sym), 8)
	}
	return bw.bytes()
}

// bitWriter packs bits least-significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (b *bitWriter) write(v uint32, n uint) {
	b.acc |= uint64(v&(1<<n-1)) << b.nacc
	b.nacc += n
	for b.nacc >= 8 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc >>= 8
		b.nacc -= 8
	}
}

func (b *bitWriter) bytes() []byte {
	out := b.buf
	if b.nacc > 0 {
		out = append(out, byte(b.acc))
	}
	return out
}
