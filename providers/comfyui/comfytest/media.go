package comfytest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
)

// images is what the fake's IMAGE sockets carry: a batch of n solid-colour
// frames. Solid colours keep the encoders small while the files stay real.
type images struct {
	w, h, n int
	rgb     [3]uint8
}

// encodePNG writes one frame as a PNG with a tEXt "prompt" chunk, as
// ComfyUI's SaveImage does, so file sizes look like the real server's.
func encodePNG(im images, prompt []byte) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, im.w, im.h))
	c := color.NRGBA{im.rgb[0], im.rgb[1], im.rgb[2], 255}
	for y := 0; y < im.h; y++ {
		for x := 0; x < im.w; x++ {
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

// encodeAnimatedWebP writes the batch as an animated WebP: VP8X with the
// animation flag, ANIM, and one ANMF per frame holding a lossless VP8L
// bitstream. fps sets each frame's duration.
func encodeAnimatedWebP(im images, fps float64) []byte {
	if fps <= 0 {
		fps = 6
	}
	dur := int(1000/fps + 0.5)
	frame := vp8lSolid(im.w, im.h, im.rgb)
	var body bytes.Buffer
	body.WriteString("WEBP")

	vp8x := make([]byte, 10)
	vp8x[0] = 0x02 // animation
	put24(vp8x[4:], im.w-1)
	put24(vp8x[7:], im.h-1)
	writeChunk(&body, "VP8X", vp8x)

	anim := make([]byte, 6) // background 0, loop forever
	writeChunk(&body, "ANIM", anim)

	for i := 0; i < im.n; i++ {
		var f bytes.Buffer
		hdr := make([]byte, 16)
		put24(hdr[6:], im.w-1)
		put24(hdr[9:], im.h-1)
		put24(hdr[12:], dur)
		hdr[15] = 0x02 // do not blend
		f.Write(hdr)
		writeChunk(&f, "VP8L", frame)
		writeChunk(&body, "ANMF", f.Bytes())
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
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
