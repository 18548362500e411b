"""Published band tables of multispectral sensors and their other names (data only).

:data:`BAND_CENTRES` holds the centre and FWHM of every band of the sensors that
:func:`pfs2c2.sensors.sensor_response` knows by name, :data:`SENSOR_ALIASES` their other spellings, and
:data:`PYRSR_SENSORS` the sensors whose measured responses come from the ``pyrsr`` wheel. To add a
sensor, add its bands here (and an alias if it has a common short name). All wavelengths in nm.
"""

from __future__ import annotations

__all__ = ["BAND_CENTRES", "PYRSR_SENSORS", "SENSOR_ALIASES"]

# --------------------------------------------------------------------------------------------------
# Published band centres and widths
# --------------------------------------------------------------------------------------------------
# (centre_nm, fwhm_nm) per band, in the sensor's usual band order. "Centre" and "FWHM" follow the
# definition that USGS and Maxar/GeoEye use: the midpoint of, and the distance between, the two
# wavelengths where the relative response is 50 % of its peak. Sources, per sensor:
#
# * sentinel2a / sentinel2b: ESA, "Sentinel-2 Spectral Response Functions (S2-SRF)",
#   COPE-GSEG-EOPG-TN-15-0007, issue 3.0 (Dec 2017), as tabulated in the ESA Sentinel-2 MSI User Guide
#   ("central wavelength" and "bandwidth"). ESA's centre is the response-weighted mean.
# * landsat8: J. A. Barsi et al., "The Spectral Response of the Landsat-8 Operational Land Imager",
#   Remote Sensing 6(10):10232-10251, 2014, table of FWHM centre and FWHM (band-average RSR,
#   Ball_BA_RSR.v1.2). Also the USGS Landsat 8 Data Users Handbook (LSDS-1574).
# * landsat9: NASA/Ball, "L9_OLI2_Ball_BA_RSR.v1.0" band-average RSR (Oct 2021); 50 % points computed
#   from that table at 1 nm (the USGS Landsat 9 Data Users Handbook, LSDS-2082, lists only the
#   requirement band edges, which are wider).
# * worldview2: DigitalGlobe, T. Updike & C. Comp, "Radiometric Use of WorldView-2 Imagery",
#   Technical Note, 2010 (band centres); FWHM from the 50 % points of the DigitalGlobe WorldView-2
#   relative spectral response table (the note gives an "effective bandwidth" instead).
# * worldview3: DigitalGlobe/Maxar WorldView-3 relative spectral response table (2014), 50 % points
#   (band ranges as in the Maxar "WorldView-3" data sheet and D. Kuester, "Radiometric Use of
#   WorldView-3 Imagery", Technical Note, 2016).
# * ikonos: GeoEye, M. Taylor, "IKONOS Planetary Reflectance and Mean Solar Exoatmospheric
#   Irradiance", Technical Note, 2009 (lower/upper 50 % wavelengths, centre, bandwidth).
# * quickbird: DigitalGlobe QuickBird relative spectral response table (2013 spreadsheet, 5 nm), 50 %
#   points; band ranges as in the DigitalGlobe "QuickBird Imagery Products - Product Guide" (2007) and
#   K. Krause, "Radiometric Use of QuickBird Imagery", Technical Note, 2005.
#
# Every entry was cross-checked against the manufacturers' response tables (tests/sensors/test_catalog.py).
BAND_CENTRES: dict[str, dict[str, tuple[float, float]]] = {
    "sentinel2a": {
        "B1": (442.7, 21.0),
        "B2": (492.4, 66.0),
        "B3": (559.8, 36.0),
        "B4": (664.6, 31.0),
        "B5": (704.1, 15.0),
        "B6": (740.5, 15.0),
        "B7": (782.8, 20.0),
        "B8": (832.8, 106.0),
        "B8A": (864.7, 21.0),
        "B9": (945.1, 20.0),
        "B10": (1373.5, 31.0),
        "B11": (1613.7, 91.0),
        "B12": (2202.4, 175.0),
    },
    "sentinel2b": {
        "B1": (442.2, 21.0),
        "B2": (492.1, 66.0),
        "B3": (559.0, 36.0),
        "B4": (664.9, 31.0),
        "B5": (703.8, 16.0),
        "B6": (739.1, 15.0),
        "B7": (779.7, 20.0),
        "B8": (832.9, 106.0),
        "B8A": (864.0, 22.0),
        "B9": (943.2, 21.0),
        "B10": (1376.9, 30.0),
        "B11": (1610.4, 94.0),
        "B12": (2185.7, 185.0),
    },
    "landsat8": {
        "B1_coastal": (442.96, 15.98),
        "B2_blue": (482.04, 60.04),
        "B3_green": (561.41, 57.33),
        "B4_red": (654.59, 37.47),
        "B5_nir": (864.67, 28.25),
        "B6_swir1": (1608.86, 84.72),
        "B7_swir2": (2200.73, 186.66),
        "B8_pan": (589.50, 172.40),
        "B9_cirrus": (1373.43, 20.39),
    },
    "landsat9": {
        "B1_coastal": (442.7, 15.4),
        "B2_blue": (481.8, 59.9),
        "B3_green": (561.0, 56.3),
        "B4_red": (654.3, 36.7),
        "B5_nir": (864.6, 28.7),
        "B6_swir1": (1608.1, 86.1),
        "B7_swir2": (2200.1, 189.5),
        "B8_pan": (589.2, 172.6),
        "B9_cirrus": (1374.1, 20.8),
    },
    "worldview2": {
        "coastal": (427.3, 51.8),
        "blue": (477.9, 60.8),
        "green": (546.2, 69.7),
        "yellow": (607.8, 38.5),
        "red": (658.8, 59.3),
        "rededge": (723.7, 39.8),
        "nir1": (831.3, 117.7),
        "nir2": (908.3, 92.4),
        "pan": (632.2, 336.9),
    },
    "worldview3": {
        "coastal": (426.2, 47.3),
        "blue": (480.7, 59.2),
        "green": (545.0, 69.0),
        "yellow": (604.1, 39.4),
        "red": (659.9, 59.7),
        "rededge": (723.2, 38.6),
        "nir1": (831.0, 120.1),
        "nir2": (905.1, 86.0),
        "swir1": (1209.4, 31.8),
        "swir2": (1571.8, 40.3),
        "swir3": (1661.1, 38.6),
        "swir4": (1730.0, 41.4),
        "swir5": (2164.4, 39.4),
        "swir6": (2203.5, 41.8),
        "swir7": (2259.8, 48.6),
        "swir8": (2330.5, 69.4),
        "pan": (629.4, 341.8),
    },
    "ikonos": {
        "blue": (480.3, 71.3),
        "green": (550.7, 88.6),
        "red": (664.8, 65.8),
        "nir": (805.0, 95.4),
        "pan": (727.1, 402.7),
    },
    "quickbird": {
        "blue": (479.3, 65.2),
        "green": (546.6, 95.7),
        "red": (654.0, 67.7),
        "nir": (814.6, 118.7),
        "pan": (724.9, 399.3),
    },
}

#: Other spellings of the sensor names (after lower-casing and dropping ``-``, ``_`` and spaces).
SENSOR_ALIASES: dict[str, str] = {
    "sentinel2": "sentinel2a",
    "s2": "sentinel2a",
    "s2a": "sentinel2a",
    "s2amsi": "sentinel2a",
    "s2b": "sentinel2b",
    "s2bmsi": "sentinel2b",
    "landsat8oli": "landsat8",
    "l8": "landsat8",
    "oli": "landsat8",
    "landsat9oli": "landsat9",
    "l9": "landsat9",
    "oli2": "landsat9",
    "wv2": "worldview2",
    "wv02": "worldview2",
    "wv3": "worldview3",
    "wv03": "worldview3",
    "ikonos2": "ikonos",
    "qb": "quickbird",
    "qb2": "quickbird",
    "quickbird2": "quickbird",
}

# Sensors for which the measured responses come from pyrsr: (satellite, sensor).
PYRSR_SENSORS: dict[str, tuple[str, str]] = {
    "sentinel2a": ("Sentinel-2A", "MSI"),
    "sentinel2b": ("Sentinel-2B", "MSI"),
    "landsat8": ("Landsat-8", "OLI_TIRS"),
    "landsat9": ("Landsat-9", "OLI_TIRS"),
}
