export function RepositoryPage({ repository }: { repository: string }) {
  return (
    <section>
      <h1>{repository}</h1>
    </section>
  );
}
