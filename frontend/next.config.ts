import type { NextConfig } from 'next';

// A static export: `next build` writes plain files to out/, which Django serves at `/`
// beside /api/, /admin/ and /chat-api/. The client therefore talks only to its own origin.
const nextConfig: NextConfig = {
  output: 'export',
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
};

export default nextConfig;
