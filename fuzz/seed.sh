#!/bin/sh
# Rebuilds fuzz/seeds/<target>/ from the adapters' fixtures and tests/conformance/: every
# decode input (not the .expected/.rejected/.config/.encode JSON beside it) and every
# encoded output, up to 64 KiB, behind a NUL byte (the config byte: the default config).
# Run from the repository root; `cargo fuzz cmin` then keeps the ones that add coverage.
set -eu

seed() {
    target=$1
    shift
    mkdir -p "fuzz/seeds/$target"
    for source in "$@"; do
        if [ -d "$source" ]; then files=$(find "$source" -maxdepth 1 -type f | sort); else files=$source; fi
        for file in $files; do
            name=$(basename "$file")
            case "$name" in
            README* | *.expected.json | *.rejected.json | *.config.json | *.encode.json) continue ;;
            esac
            [ "$(wc -c <"$file")" -le 65536 ] || continue
            origin=$(basename "$(dirname "$file")")
            { printf '\000'; cat "$file"; } >"fuzz/seeds/$target/$origin-$name"
        done
    done
}

e=adapters/econnecteur/fixtures
es=tests/conformance/econnecteur/samples
o=adapters/oci-punchout/fixtures
p=adapters/payment-order/fixtures

seed econnecteur_request $e/request
seed econnecteur_response $e/response $es/products_list.4-Liste-des-produits.xml \
    $es/orders_list.9-Liste-des-commandes.xml $es/orders_list.9-Liste-des-commandes.2015.xml
seed econnecteur_order $e/order $es/order.xml $es/orders.answer.10-Details-commande.2015.xml
seed econnecteur_product $e/product $es/add_product.7-Ajout-produit.xml \
    $es/add_product.16-Ajout-produit-gamme.xml $es/update_product.6-Mise-a-jour-produit.xml
seed econnecteur_option $e/option $es/update_option.9-Mise-a-jour-option.xml
seed econnecteur_customers $e/customers
seed econnecteur_grilles $e/grilles
seed oci_punchout_login $o/login
seed oci_punchout_cart $o/cart
seed oci_punchout_cart_page $o/cart-page tests/conformance/oci/real_world_cart_page.html \
    tests/conformance/oci/meplato_extensions_cart_page.html
seed oci_punchout_order_request $o/order-request tests/conformance/cxml/samples/OrderRequest.xml
seed oci_punchout_order_response $o/order-response
seed ois_orders_order adapters/ois-orders/fixtures/order
seed payment_order_order $p/order
seed payment_order_order_soap $p/order-soap tests/conformance/payline/samples
seed csv_catalogue_catalogue examples/csv-catalogue/fixtures/catalogue
seed sdk_form $o/login $o/cart $e/request
seed sdk_xml tests/conformance/cxml/samples $es tests/conformance/payline/samples \
    $o/order-request $o/order-response
