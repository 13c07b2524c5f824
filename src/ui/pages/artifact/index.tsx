export function ArtifactPage({ repository, reference }: { repository: string; reference: string }) {
  return (
    <section>
      <h1>
        {repository}
        {reference}
      </h1>
    </section>
  );
}
