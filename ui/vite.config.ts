import { defineConfig } from "vite";

// Everything is bundled into dist/: no CDN, no remote font, no inline script (the CSP forbids them).
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
});
