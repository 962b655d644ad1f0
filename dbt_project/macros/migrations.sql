{#-
    Upgrades a home built by an earlier release before anything runs (on-run-start).

    2026-12: staging's `stg_<table>__classified` / `stg_<table>__versions` became
    `stg_<table>_classified` / `stg_<table>_versions` (`__` is dbt's source/entity separator).
    The day-by-day classified tables are incremental: they hold every day classified so far, and
    the keys a new day's rows are checked against for duplicates. Under a new name they would start
    empty, and the next daily run would classify only its own day and let a key landed on an
    earlier day through as clean. So they are renamed in place, history and all. The other old
    relations (views, and the entity tables staging rebuilds in full every run) are dropped; the
    staging step builds them again under their new names.
-#}

{% macro migrate_legacy_relations() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set staging = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
                      | selectattr('name', 'equalto', 'stg_events_classified') | first -%}
    {%- set migration = namespace(renamed=false) -%}
    {%- for table in ['events', 'orders', 'order_items', 'campaign_sends', 'reviews',
                      'users', 'products', 'campaigns'] -%}
        {%- for suffix in ['classified', 'versions'] -%}
            {%- set renamed = _migrate_staging_relation(staging.database, staging.schema,
                                                        'stg_' ~ table ~ '__' ~ suffix, 'stg_' ~ table ~ '_' ~ suffix) -%}
            {%- set migration.renamed = migration.renamed or renamed -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- A rename runs in a transaction (drops do not); on-run-start hooks are not committed for us. -#}
    {%- if migration.renamed -%}{%- do adapter.commit() -%}{%- endif -%}
{%- endmacro %}


{% macro _migrate_staging_relation(database, schema, old_name, new_name) -%}
    {%- set old = adapter.get_relation(database=database, schema=schema, identifier=old_name) -%}
    {%- if old is none -%}{{ return(false) }}{%- endif -%}
    {%- set new = adapter.get_relation(database=database, schema=schema, identifier=new_name) -%}
    {%- set kept_by_increments = old.type == 'table' and is_incremental_model(new_name) -%}
    {%- if kept_by_increments and new is none -%}
        {{ log('huaxiang: renaming ' ~ old ~ ' to ' ~ new_name ~ ' (its history is kept)', info=true) }}
        {%- do adapter.rename_relation(old, old.incorporate(path={'identifier': new_name})) -%}
        {{ return(true) }}
    {%- elif kept_by_increments -%}
        {#- Both exist: someone built the new name by hand. Losing history silently is worse than
            a stale relation, so the old one stays and the run says so. -#}
        {{ exceptions.warn('huaxiang: ' ~ old ~ ' and ' ~ new ~ ' both exist; ' ~ old_name
                           ~ ' was left in place. Drop it once ' ~ new_name ~ ' holds its days.') }}
    {%- else -%}
        {{ log('huaxiang: dropping ' ~ old ~ ' (rebuilt as ' ~ new_name ~ ')', info=true) }}
        {%- do adapter.drop_relation(old) -%}
    {%- endif -%}
    {{ return(false) }}
{%- endmacro %}


{% macro is_incremental_model(name) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(node.config.materialized == 'incremental') }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
