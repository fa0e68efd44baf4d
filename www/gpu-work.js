// Counts the WebGPU work a runtime asks for: compute dispatches, queue submits, buffer read-backs
// (mapAsync) and compute pipelines created. These counts do not depend on the adapter's speed, so
// they are true even on a software adapter (SwiftShader). Loaded only for benchmarks and tests:
// by Glimpse's worker (`?bench`, before its WebGPU device exists) and by the ONNX Runtime Web
// page of the side-by-side benchmark, so both runtimes are counted by the same hooks.
(() => {
  if (self.glimpseGpuWork || typeof GPUComputePassEncoder === 'undefined') return;
  const counts = { dispatches: 0, submits: 0, readbacks: 0, pipelines: 0 };
  const wrap = (proto, name, key) => {
    const original = proto && proto[name];
    if (typeof original !== 'function') return;
    proto[name] = function (...args) {
      counts[key] += 1;
      return original.apply(this, args);
    };
  };
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches');
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', 'dispatches');
  wrap(GPUQueue.prototype, 'submit', 'submits');
  wrap(GPUBuffer.prototype, 'mapAsync', 'readbacks');
  wrap(GPUDevice.prototype, 'createComputePipeline', 'pipelines');
  wrap(GPUDevice.prototype, 'createComputePipelineAsync', 'pipelines');
  self.glimpseGpuWork = counts;
})();
