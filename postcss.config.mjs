// PostCSS config: Tailwind 4 through its PostCSS plugin (Next.js picks this file up for app/globals.css).
export default {
  plugins: { '@tailwindcss/postcss': {} },
};
