// WebGPU in the worker: why it can or cannot be used (the probe), and a handle on every
// GPUDevice burn creates, so a test can lose them.
import { message } from './wire.js';

let webgpu = null; // the probe's answer, asked once
const gpuDevices = []; // every GPUDevice created here

// burn creates its GPUDevice inside wasm; keep a handle on it so a test can simulate the
// device being lost (device.destroy()), as a driver reset or a sleeping laptop would.
if (globalThis.GPUAdapter?.prototype?.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const d = await requestDevice.apply(this, args);
    gpuDevices.push(d);
    return d;
  };
}

/**
 * Destroys every GPUDevice made here (a driver reset or a sleeping laptop, for tests; an
 * engine restart, which forgets them too): how many.
 */
export function loseDevices({ forget = false } = {}) {
  const n = gpuDevices.length;
  for (const d of forget ? gpuDevices.splice(0) : gpuDevices) d.destroy();
  return n;
}

// Why WebGPU can or cannot be used here, asked once: navigator.gpu must exist and hand out
// an adapter; burn asks for its own, this probe only explains the choice.
export async function probeWebgpu() {
  if (webgpu) return webgpu;
  const gpu = globalThis.navigator?.gpu;
  if (!gpu) {
    webgpu = { available: false, reason: 'navigator.gpu is missing: this browser or context has no WebGPU' };
    return webgpu;
  }
  let adapter;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    webgpu = { available: false, reason: `navigator.gpu.requestAdapter() failed: ${message(e)}` };
    return webgpu;
  }
  if (!adapter) {
    webgpu = { available: false, reason: 'navigator.gpu.requestAdapter() returned null: no usable GPU adapter' };
    return webgpu;
  }
  const i = adapter.info ?? {};
  const info = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    isFallbackAdapter: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ');
  webgpu = {
    available: true,
    reason: `WebGPU adapter: ${name || 'unnamed'}${info.isFallbackAdapter ? ' (software fallback)' : ''}`,
    adapter: info,
  };
  return webgpu;
}
