import { defineConfig } from 'vitest/config';

// The API's own paths (same origin in production). In development the Vite
// server forwards them to the platform (`cargo xtask up`, :3000 by default);
// every other path (/, /app/...) is the single-page app.
declare const process: { env: Record<string, string | undefined> };
const API = process.env.API_URL || 'http://127.0.0.1:3000';
const apiPaths = [
  'product', 'register', 'login', 'refresh', 'logout', 'me', 'oauth',
  'verify-email', 'password', 'order', 'payment', 'admin', 'health', 'openapi.json',
];
const proxy = Object.fromEntries(
  apiPaths.map((p) => [`^/${p.replace('.', '\\.')}(/|\\?|$)`, { target: API, changeOrigin: false }]),
);

export default defineConfig({
  base: '/',
  // Preact's automatic JSX runtime (no @preact/preset-vite needed).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2020',
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy },
  preview: { host: '127.0.0.1', port: 4173, proxy },
  test: {
    environment: 'node',
    include: ['test/**/*.test.{ts,tsx}'],
  },
});
