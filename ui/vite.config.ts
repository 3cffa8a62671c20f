import { defineConfig } from "vitest/config";

// The app's CSP allows scripts and styles from 'self' only: no inlined assets (data: URLs),
// no inline scripts, no remote fonts. `dist/` is embedded into the binary by Tauri's
// generate_context! at compile time, so build this before `cargo build`.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  server: { port: 1420, strictPort: true },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
