package gpu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Host is what NVML reported about this machine at one moment.
type Host struct {
	DriverVersion string // "580.159.04"
	CUDAVersion   string // the newest CUDA the driver supports: "13.0"
	NVMLVersion   string // "13.580.159.04"
	Devices       []Device
}

// Device is one GPU as NVML reports it.
type Device struct {
	Index        int
	Name         string // "NVIDIA H100 80GB HBM3"
	UUID         string
	MemoryTotal  uint64 // bytes
	MemoryFree   uint64 // bytes
	ComputeMajor int
	ComputeMinor int
	PCIBusID     string // "00000000:00:06.0"
	// TemperatureC and PowerW are nil when the device does not report
	// them (NVML_ERROR_NOT_SUPPORTED on many boards and under MIG).
	TemperatureC *uint32
	PowerW       *float64
}

// ComputeCapability is the device's CUDA compute capability: "9.0".
func (d Device) ComputeCapability() string {
	return fmt.Sprintf("%d.%d", d.ComputeMajor, d.ComputeMinor)
}

// fingerprint digests the facts a gpu_requirement's verdict rests on, so a
// saved plan is stale once the driver or the devices change. Readings that
// move by themselves (free memory, temperature, power) are left out.
func (h *Host) fingerprint() string {
	s := sha256.New()
	fmt.Fprintf(s, "driver=%s cuda=%s\n", h.DriverVersion, h.CUDAVersion)
	for _, d := range h.Devices {
		fmt.Fprintf(s, "%d %q %s %d %s\n", d.Index, d.Name, d.UUID, d.MemoryTotal, d.ComputeCapability())
	}
	return "sha256:" + hex.EncodeToString(s.Sum(nil))
}

// driver is the provider's view of NVML: nvml.go implements it over go-nvml
// when built with cgo, nocgo.go reports NVML as unavailable otherwise.
type driver interface {
	// init loads and initialises the library; the provider calls it once.
	init() error
	// read returns the host's facts now.
	read() (*Host, error)
	// shutdown releases what init acquired; called only after init
	// succeeded.
	shutdown() error
}
