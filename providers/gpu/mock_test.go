//go:build cgo

package gpu

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// The mock servers answer identity, memory and compute capability but leave
// the _v2 CUDA call, temperature, power and the PCI bus id unset (a nil
// mock func panics when called). withReadings fills them the way a real
// driver does: the bus id as a NUL-padded char array.
func withReadings(s *server.Server) *server.Server {
	s.SystemGetCudaDriverVersion_v2Func = func() (int, nvml.Return) { return s.CudaDriverVersion, nvml.SUCCESS }
	for _, d := range s.Devices {
		dev := d.(*server.Device)
		dev.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) {
			return uint32(30 + dev.Index), nvml.SUCCESS
		}
		dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return uint32(118250 + dev.Index*1000), nvml.SUCCESS }
		dev.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
			var p nvml.PciInfo
			id := "0000" + dev.PciBusID // NVML widens the domain to 8 digits: "00000000:00:06.0"
			for i := range id {
				p.BusId[i] = int8(id[i])
			}
			p.PciDeviceId = dev.Config.PciDeviceId
			return p, nvml.SUCCESS
		}
	}
	return s
}

// serverWith builds a server of the given GPUs with a driver of our choice.
func serverWith(t *testing.T, driver string, cuda int, gs ...gpus.Config) *server.Server {
	t.Helper()
	s, err := server.New(
		server.WithGPUs(gs...),
		server.WithDriverVersion(driver),
		server.WithNVMLVersion("12."+driver),
		server.WithCUDADriverVersion(cuda),
	)
	if err != nil {
		t.Fatalf("mock server: %v", err)
	}
	return withReadings(s)
}

func h100x8() nvmlLib { return withReadings(dgxh100.New()) }
func a100x8() nvmlLib { return withReadings(dgxa100.New()) }

// noLibrary is a machine without the driver: Init fails the way go-nvml
// fails when dlopen of libnvidia-ml.so.1 does.
func noLibrary() nvmlLib {
	return &mock.Interface{
		InitFunc:     func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND },
		ShutdownFunc: func() nvml.Return { return nvml.ERROR_UNINITIALIZED },
	}
}

// device returns mock device i of s for overriding one call.
func device(s *server.Server, i int) *server.Device { return s.Devices[i].(*server.Device) }

func providerFor(lib nvmlLib) *Provider { return newWithDriver(&nvmlDriver{lib: lib}) }
