import { spawn } from 'node:child_process';
import type { Overlay } from './picture.js';

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function hasPngSignature(bytes: Buffer): boolean {
  return bytes.length > PNG_SIGNATURE.length && bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE);
}

/** The PNG could not be decoded (not a PNG, truncated, corrupt). */
export class LogoDecodeError extends Error {}

const DECODE_TIMEOUT_MS = 10_000;

/**
 * Decodes a PNG once with ffmpeg into an overlay (yuva420p: Y, U, V and a full-resolution alpha
 * plane), scaled down to fit `box` (never up), with even sides so it blends on chroma boundaries.
 */
export function decodeLogo(ffmpegPath: string, png: Buffer, box: { width: number; height: number }): Promise<Overlay> {
  if (!hasPngSignature(png)) return Promise.reject(new LogoDecodeError('not a PNG (no PNG signature)'));
  const scale =
    `scale=w='min(iw,${box.width})':h='min(ih,${box.height})':force_original_aspect_ratio=decrease:force_divisible_by=2,` +
    `format=yuva420p`;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info', '-f', 'png_pipe', '-i', 'pipe:0', '-vf', scale, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuva420p', 'pipe:1'];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let outBytes = 0;
    const limit = box.width * box.height * 3 + 1024;
    const timer = setTimeout(() => child.kill('SIGKILL'), DECODE_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > limit) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // The size ffmpeg wrote, from its description of the output stream.
      const size = /Output #0[\s\S]*?Video: rawvideo[^\n]*?\b(\d+)x(\d+)\b/.exec(stderr);
      const data = Buffer.concat(out);
      const width = Number(size?.[1] ?? 0);
      const height = Number(size?.[2] ?? 0);
      const expected = width * height * 2.5;
      if (code !== 0 || !size || width <= 0 || height <= 0 || width % 2 || height % 2 || data.length !== expected) {
        reject(new LogoDecodeError(`ffmpeg could not decode it (exit ${code ?? 'signal'}, ${data.length} bytes)`));
        return;
      }
      const luma = width * height;
      const chroma = luma / 4;
      resolve({
        width,
        height,
        y: data.subarray(0, luma),
        u: data.subarray(luma, luma + chroma),
        v: data.subarray(luma + chroma, luma + 2 * chroma),
        a: data.subarray(luma + 2 * chroma, luma * 2 + 2 * chroma),
      });
    });
    child.stdin.end(png);
  });
}
