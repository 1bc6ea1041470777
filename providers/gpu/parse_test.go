package gpu

import "testing"

func TestVersionCompare(t *testing.T) {
	tests := map[string]struct {
		a, b string
		want int
	}{
		"equal":                 {"12.4", "12.4", 0},
		"missing part is zero":  {"12", "12.0", 0},
		"numeric not lexical":   {"12.10", "12.9", 1},
		"older major":           {"11.8", "12.0", -1},
		"patch is newer":        {"12.4.1", "12.4", 1},
		"compute capability":    {"8.6", "9.0", -1},
		"leading zeros numeric": {"12.04", "12.4", 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := parseVersion(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := parseVersion(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.compare(b); got != tc.want {
				t.Errorf("compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, s := range []string{"", "12.", ".4", "12.x", "v12.4", "-1", "+12", "1.2.3.4.5", "12 .4", "1234567"} {
		if v, err := parseVersion(s); err == nil {
			t.Errorf("parseVersion(%q) = %v, want an error", s, v)
		}
	}
}

func TestCUDAVersionString(t *testing.T) {
	tests := map[int]string{13000: "13.0", 12040: "12.4", 12020: "12.2", 11080: "11.8", 12100: "12.10"}
	for in, want := range tests {
		if got := cudaVersionString(in); got != want {
			t.Errorf("cudaVersionString(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]struct {
		bytes  int64
		binary bool
		text   string
	}{
		"24GiB":    {24 << 30, true, "24 GiB"},
		"80 GiB":   {80 << 30, true, "80 GiB"},
		"50GB":     {50e9, false, "50 GB"},
		"100MB":    {100e6, false, "100 MB"},
		"1.5TiB":   {3 << 39, true, "1.5 TiB"},
		"24gib":    {24 << 30, true, "24 GiB"},
		"1048576":  {1 << 20, true, "1048576 bytes"},
		"512B":     {512, false, "512 B"},
		" 16 KiB ": {16 << 10, true, "16 KiB"},
	}
	for in, want := range tests {
		got, err := parseSize(in)
		if err != nil {
			t.Errorf("parseSize(%q): %v", in, err)
			continue
		}
		if got.bytes != want.bytes || got.binary != want.binary || got.text != want.text {
			t.Errorf("parseSize(%q) = %+v, want %+v", in, got, want)
		}
	}
	for _, in := range []string{"", "GiB", "lots", "-1GB", "1e9", "0x10", "1..5GB", "24 GiBs"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %+v, want an error", in, got)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n      uint64
		binary bool
		want   string
	}{
		{40 << 30, true, "40.0 GiB"},
		{85520809984, true, "79.6 GiB"},
		{85520809984, false, "85.5 GB"},
		{10 << 30 / 2, true, "5.0 GiB"},
		{512 << 20, true, "512.0 MiB"},
	}
	for _, tc := range tests {
		if got := formatBytes(tc.n, tc.binary); got != tc.want {
			t.Errorf("formatBytes(%d, %v) = %q, want %q", tc.n, tc.binary, got, tc.want)
		}
	}
}

func TestGPUList(t *testing.T) {
	tests := []struct {
		idx  []int
		want string
	}{
		{nil, "no GPU"},
		{[]int{3}, "GPU 3"},
		{[]int{0, 1, 2, 3, 4, 5, 6, 7}, "GPUs 0-7"},
		{[]int{0, 2, 3, 4, 7}, "GPUs 0, 2-4, 7"},
		{[]int{1, 3}, "GPUs 1, 3"},
	}
	for _, tc := range tests {
		if got := gpuList(tc.idx); got != tc.want {
			t.Errorf("gpuList(%v) = %q, want %q", tc.idx, got, tc.want)
		}
	}
}
