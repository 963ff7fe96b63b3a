"""``serinus crds``: write the CRDs generated from the models (what ``make crds`` runs)."""

from __future__ import annotations

import pathlib

import click

from serinus.apis import crds as crd_models


@click.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="Directory to write one YAML file per CRD into; standard output when not given.",
)
def crds(output: pathlib.Path | None) -> None:
    """Print or write the CustomResourceDefinitions of Canary, MetricTemplate and AlertProvider."""
    documents = crd_models.custom_resource_definitions()
    if output is None:
        click.echo("---\n".join(crd_models.render(crd) for crd in documents.values()), nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    for file_name, crd in documents.items():
        (output / file_name).write_text(crd_models.render(crd))
        click.echo(f"wrote {output / file_name}")
