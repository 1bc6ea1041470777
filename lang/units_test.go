package lang

import (
	"math"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    int64
		wantErr bool
	}{
		"decimal GB":       {in: "50GB", want: 50_000_000_000},
		"binary GiB":       {in: "24GiB", want: 24 << 30},
		"fraction space":   {in: "1.5 TB", want: 1_500_000_000_000},
		"MB":               {in: "100MB", want: 100_000_000},
		"plain bytes":      {in: "512", want: 512},
		"B suffix":         {in: "512B", want: 512},
		"lower case":       {in: "2gb", want: 2_000_000_000},
		"short unit":       {in: "3K", want: 3000},
		"KiB":              {in: "1KiB", want: 1024},
		"fractional KiB":   {in: "1.5KiB", want: 1536},
		"rounds to byte":   {in: "0.3KiB", want: 307},
		"rounds half up":   {in: "0.5", want: 1},
		"leading dot":      {in: ".5KB", want: 500},
		"trailing dot":     {in: "2.GB", want: 2_000_000_000},
		"surrounding ws":   {in: "  7 MiB ", want: 7 << 20},
		"PiB":              {in: "1PiB", want: 1 << 50},
		"zero":             {in: "0", want: 0},
		"max int64":        {in: "9223372036854775807", want: math.MaxInt64},
		"empty":            {in: "", wantErr: true},
		"unit only":        {in: "GB", wantErr: true},
		"negative":         {in: "-5GB", wantErr: true},
		"unknown unit":     {in: "5XB", wantErr: true},
		"exponent":         {in: "1e9", wantErr: true},
		"fraction syntax":  {in: "1/2GB", wantErr: true},
		"hex":              {in: "0x10", wantErr: true},
		"overflow":         {in: "10000000PB", wantErr: true},
		"two numbers":      {in: "5 5GB", wantErr: true},
		"bits not allowed": {in: "5Gbit", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		"minutes":        {in: "45m", want: 45 * time.Minute},
		"compound":       {in: "1h30m", want: 90 * time.Minute},
		"seconds":        {in: "90s", want: 90 * time.Second},
		"millis":         {in: "250ms", want: 250 * time.Millisecond},
		"days":           {in: "2d", want: 48 * time.Hour},
		"days and hours": {in: "1d12h", want: 36 * time.Hour},
		"fractional day": {in: "1.5d", want: 36 * time.Hour},
		"zero":           {in: "0", want: 0},
		"spaces":         {in: " 5m ", want: 5 * time.Minute},
		"no unit":        {in: "90", wantErr: true},
		"unknown unit":   {in: "5w", wantErr: true},
		"empty":          {in: "", wantErr: true},
		"garbage":        {in: "soon", wantErr: true},
		"huge days":      {in: "99999999999d", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Errorf("ParseDuration(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{
		0:                 "0 B",
		999:               "999 B",
		1000:              "1.0 kB",
		1500:              "1.5 kB",
		999_949:           "999.9 kB",
		999_950:           "1.0 MB",
		14_200_000_000:    "14.2 GB",
		50_000_000_000:    "50.0 GB",
		24 << 30:          "25.8 GB",
		-2_500_000:        "-2.5 MB",
		math.MaxInt64:     "9.2 EB",
		math.MinInt64:     "-9.2 EB",
		1_000_000_000_000: "1.0 TB",
	}
	for in, want := range tests {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
	// What FormatSize prints, ParseSize reads back to within the rounding.
	for _, n := range []int64{1234, 14_200_000_000, 987_654_321} {
		back, err := ParseSize(FormatSize(n))
		if err != nil || math.Abs(float64(back-n)) > float64(n)/20 { // one decimal place: within 5%
			t.Errorf("round trip of %d: %d, %v", n, back, err)
		}
	}
}

func TestJoinAnd(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a and b"}, {[]string{"a", "b", "c"}, "a, b and c"}} {
		if got := JoinAnd(c.in); got != c.want {
			t.Errorf("JoinAnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
