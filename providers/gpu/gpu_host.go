package gpu

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// deviceType is the object type of one element of gpu_host.devices.
var deviceType = cty.Object(map[string]cty.Type{
	"index":              cty.Number,
	"name":               cty.String,
	"uuid":               cty.String,
	"memory_total":       cty.Number,
	"memory_free":        cty.Number,
	"compute_capability": cty.String,
	"pci_bus_id":         cty.String,
	"temperature_c":      cty.Number,
	"power_w":            cty.Number,
})

var hostSchema = &providers.Schema{
	Description: "Facts about this machine's NVIDIA driver and GPUs, read through NVML at plan time.",
	Attributes: map[string]*providers.Attribute{
		"optional": {Type: cty.Bool, Optional: true,
			Description: "When true, a machine without an NVIDIA driver or GPU is a warning and the values are null or empty."},
		"driver_version": {Type: cty.String, Computed: true, Description: `The driver version: "580.159.04".`},
		"cuda_version":   {Type: cty.String, Computed: true, Description: `The newest CUDA version the driver supports: "13.0".`},
		"nvml_version":   {Type: cty.String, Computed: true, Description: `The NVML version: "13.580.159.04".`},
		"device_count":   {Type: cty.Number, Computed: true, Description: "The number of GPUs NVML sees."},
		"devices": {Type: cty.List(deviceType), Computed: true,
			Description: "One object per GPU: index, name, uuid, memory_total and memory_free (bytes), compute_capability (\"9.0\"), pci_bus_id, temperature_c and power_w (null when the device does not report them)."},
	},
}

// readHostData reads data "gpu_host".
func (p *Provider) readHostData(req providers.ReadDataRequest) providers.ReadDataResponse {
	optional := boolAttr(req.Config, "optional")
	optVal := cty.NullVal(cty.Bool)
	if optional {
		optVal = cty.True
	} else if !req.Config.IsNull() && req.Config.Type().IsObjectType() && req.Config.Type().HasAttribute("optional") {
		optVal = req.Config.GetAttr("optional")
	}
	h, err := p.host()
	if err == nil && len(h.Devices) == 0 {
		// The driver answered, so its versions are worth keeping even
		// when the missing GPU is only a warning.
		return providers.ReadDataResponse{
			State:       hostValue(optVal, h),
			Diagnostics: providers.Diagnostics{unavailable(errNoGPU(h), optional, req.Address)},
		}
	}
	if err != nil {
		return providers.ReadDataResponse{
			State:       hostValue(optVal, nil),
			Diagnostics: providers.Diagnostics{unavailable(err, optional, req.Address)},
		}
	}
	return providers.ReadDataResponse{State: hostValue(optVal, h)}
}

// hostValue is gpu_host's value for h; h nil gives null facts and no devices.
// optional is the config's value, kept as written.
func hostValue(optional cty.Value, h *Host) cty.Value {
	attrs := map[string]cty.Value{
		"optional":       optional,
		"driver_version": cty.NullVal(cty.String),
		"cuda_version":   cty.NullVal(cty.String),
		"nvml_version":   cty.NullVal(cty.String),
		"device_count":   cty.NumberIntVal(0),
		"devices":        cty.ListValEmpty(deviceType),
	}
	if h == nil {
		return cty.ObjectVal(attrs)
	}
	attrs["driver_version"] = cty.StringVal(h.DriverVersion)
	attrs["cuda_version"] = cty.StringVal(h.CUDAVersion)
	attrs["nvml_version"] = cty.StringVal(h.NVMLVersion)
	attrs["device_count"] = cty.NumberIntVal(int64(len(h.Devices)))
	if len(h.Devices) > 0 {
		devs := make([]cty.Value, len(h.Devices))
		for i, d := range h.Devices {
			devs[i] = deviceValue(d)
		}
		attrs["devices"] = cty.ListVal(devs)
	}
	return cty.ObjectVal(attrs)
}

func deviceValue(d Device) cty.Value {
	temp, power := cty.NullVal(cty.Number), cty.NullVal(cty.Number)
	if d.TemperatureC != nil {
		temp = cty.NumberUIntVal(uint64(*d.TemperatureC))
	}
	if d.PowerW != nil {
		power = cty.NumberFloatVal(*d.PowerW)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"index":              cty.NumberIntVal(int64(d.Index)),
		"name":               cty.StringVal(d.Name),
		"uuid":               cty.StringVal(d.UUID),
		"memory_total":       cty.NumberUIntVal(d.MemoryTotal),
		"memory_free":        cty.NumberUIntVal(d.MemoryFree),
		"compute_capability": cty.StringVal(d.ComputeCapability()),
		"pci_bus_id":         cty.StringVal(d.PCIBusID),
		"temperature_c":      temp,
		"power_w":            power,
	})
}

// boolAttr reads an optional bool attribute; null or unknown is false.
func boolAttr(obj cty.Value, name string) bool {
	if obj.IsNull() || !obj.IsKnown() || !obj.Type().IsObjectType() || !obj.Type().HasAttribute(name) {
		return false
	}
	v := obj.GetAttr(name)
	return v.IsKnown() && !v.IsNull() && v.True()
}
