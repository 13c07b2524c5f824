/** A kind's icon, as the discovery API serves it (`iconUrl`); decorative beside the kind's name. */
export function KindIcon({ url, title, size = 24 }: { url: string; title?: string; size?: number }) {
  return (
    <img
      class="kind-icon"
      src={url}
      width={size}
      height={size}
      alt={title ?? ""}
      title={title}
      loading="lazy"
      decoding="async"
    />
  );
}
