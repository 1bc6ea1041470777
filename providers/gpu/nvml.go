//go:build cgo

package gpu

import (
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// nvmlLib is the part of nvml.Interface this package calls. Tests pass
// go-nvml's mock servers (pkg/nvml/mock/dgxh100, dgxa100), which implement
// the whole interface.
type nvmlLib interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	SystemGetDriverVersion() (string, nvml.Return)
	SystemGetNVMLVersion() (string, nvml.Return)
	SystemGetCudaDriverVersion_v2() (int, nvml.Return)
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
}

var _ nvmlLib = nvml.Interface(nil)

// errNoDriver is what ERROR_LIBRARY_NOT_FOUND means: dlopen of the
// driver's library failed, the normal state of a machine without a GPU.
var errNoDriver = errors.New("no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded")

// nvmlDriver reads a Host through NVML.
type nvmlDriver struct {
	lib nvmlLib
}

// newDriver returns the real binding. nvml.New does not load the library;
// init does, so the constructor stays free of I/O.
func newDriver() driver { return &nvmlDriver{lib: nvml.New()} }

func (d *nvmlDriver) init() error {
	switch ret := d.lib.Init(); ret {
	case nvml.SUCCESS:
		return nil
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return errNoDriver
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return fmt.Errorf("no NVIDIA driver loaded: libnvidia-ml.so.1 is installed but the kernel driver is not running (%v)", ret)
	default:
		return fmt.Errorf("initialize NVML: %v", ret)
	}
}

func (d *nvmlDriver) shutdown() error {
	if ret := d.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("shut down NVML: %v", ret)
	}
	return nil
}

func (d *nvmlDriver) read() (*Host, error) {
	var h Host
	var ret nvml.Return
	if h.DriverVersion, ret = d.lib.SystemGetDriverVersion(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("read driver version: %v", ret)
	}
	if h.NVMLVersion, ret = d.lib.SystemGetNVMLVersion(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("read NVML version: %v", ret)
	}
	cuda, ret := d.lib.SystemGetCudaDriverVersion_v2()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("read CUDA driver version: %v", ret)
	}
	h.CUDAVersion = cudaVersionString(cuda)
	n, ret := d.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("count GPUs: %v", ret)
	}
	for i := range n {
		dev, err := readDevice(d.lib, i)
		if err != nil {
			return nil, err
		}
		h.Devices = append(h.Devices, dev)
	}
	return &h, nil
}

// readDevice reads one device. Identity, memory and compute capability are
// required; temperature and power are optional readings that many devices
// (and MIG setups) do not support, so any error there leaves them nil.
func readDevice(lib nvmlLib, i int) (Device, error) {
	d := Device{Index: i}
	h, ret := lib.DeviceGetHandleByIndex(i)
	if ret != nvml.SUCCESS {
		return d, fmt.Errorf("open GPU %d: %v", i, ret)
	}
	if d.Name, ret = h.GetName(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("read GPU %d name: %v", i, ret)
	}
	if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("read GPU %d UUID: %v", i, ret)
	}
	mem, ret := h.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return d, fmt.Errorf("read GPU %d memory: %v", i, ret)
	}
	d.MemoryTotal, d.MemoryFree = mem.Total, mem.Free
	if d.ComputeMajor, d.ComputeMinor, ret = h.GetCudaComputeCapability(); ret != nvml.SUCCESS {
		return d, fmt.Errorf("read GPU %d compute capability: %v", i, ret)
	}
	pci, ret := h.GetPciInfo()
	if ret != nvml.SUCCESS {
		return d, fmt.Errorf("read GPU %d PCI info: %v", i, ret)
	}
	d.PCIBusID = cString(pci.BusId[:])
	if t, ret := h.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
		d.TemperatureC = &t
	}
	if mw, ret := h.GetPowerUsage(); ret == nvml.SUCCESS {
		w := float64(mw) / 1000
		d.PowerW = &w
	}
	return d, nil
}

// cString converts a fixed-size C char array up to its first NUL.
func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
