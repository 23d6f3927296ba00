import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

/** Small: three charts and the event feed fit beside the tree at 1280×800. */
const HEIGHT = 84

export interface ChartSeries {
  label: string
  /** A color that reads on light and dark backgrounds. */
  stroke: string
  /** Dashed lines tell series apart without color. */
  dash?: number[]
  fill?: string
}

/**
 * A uPlot time chart: x in seconds, one or more series. Made once, then only fed new data; follows its box's width.
 */
export function Chart({
  title,
  unit,
  series,
  data,
}: {
  title: string
  unit: string
  series: ChartSeries[]
  data: uPlot.AlignedData
}) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)

  useEffect(() => {
    const element = box.current!
    // The canvas knows no `currentColor`: the axes take the box's text color (light or dark theme).
    const ink = getComputedStyle(element).color
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          stroke: ink,
          grid: { stroke: 'rgba(128,128,128,0.15)' },
          ticks: { stroke: 'rgba(128,128,128,0.3)' },
          size: 24,
          font: '11px system-ui, sans-serif',
        },
        {
          stroke: ink,
          grid: { stroke: 'rgba(128,128,128,0.15)' },
          ticks: { stroke: 'rgba(128,128,128,0.3)' },
          size: 40,
          label: unit,
          labelSize: 12,
          labelFont: '11px system-ui, sans-serif',
          font: '11px system-ui, sans-serif',
        },
      ],
      series: [
        { label: 'time' },
        ...series.map((entry) => ({
          label: entry.label,
          stroke: entry.stroke,
          width: 1.5,
          spanGaps: false,
          ...(entry.dash ? { dash: entry.dash } : {}),
          ...(entry.fill ? { fill: entry.fill } : {}),
        })),
      ],
    }
    plot.current = new uPlot(options, data, element)
    const observer = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT }),
    )
    observer.observe(element)
    return () => {
      observer.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
    // The series are fixed per chart; data comes through the effect below.
  }, [])

  useEffect(() => {
    plot.current?.setData(data)
  }, [data])

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={`${title}, last 15 minutes`} />
    </figure>
  )
}
